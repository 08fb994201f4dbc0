"""Run gcloud-tasks-emulator bound to 127.0.0.1 only.

Runs under .venv-tasks/bin/python (the emulator needs protobuf<5), so it imports nothing from the
project. The emulator's own entry point binds `[::]` whatever host it is given; this builds the
same server from its parts and binds loopback instead. Queues are created by the bootstrap
through the real client, not here.

Its task processor, ten times a second, takes every task of a queue in turn, due or not, and
moves each one not yet due to the back of the list: CPU in proportion to the tasks waiting
(about 0.1 CPU per 1,000 on a CI-sized machine). Every turn schedules a watchdog due after the
lease's lifetime (~9 minutes), so a busy stack holds thousands of them and the emulator spent a
core walking them. ``DueTasksProcessor`` hands the emulator only the tasks that are due, in the
order the emulator keeps; it dispatches, retries and gives up exactly as before.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import grpc
from gcloud_tasks_emulator.cloudtasks_pb2_grpc import add_CloudTasksServicer_to_server
from gcloud_tasks_emulator.server import _LOOP_SLEEP_TIME, Greeter, Processor, QueueState
from google.cloud.tasks_v2 import Queue


class DueTasksProcessor(Processor):
    """The emulator's processor, submitting only the tasks whose time has come."""

    def _process_queue(self, queue: str) -> None:
        # id(task) -> (task, its schedule time): a task's time, read once (each read of a
        # message field builds a new datetime); the task is held so that its id stays its own.
        due_at: dict[int, tuple[object, datetime | None]] = {}
        while self._is_running.is_set():
            state = self._state
            if queue not in state._queues or queue not in state._queue_tasks:
                break
            if state.queue(queue).state == Queue.State.RUNNING:
                tasks = state._queue_tasks[queue][:]
                due_at = {id(t): due_at.get(id(t)) or (t, t.schedule_time or None) for t in tasks}
                now = datetime.now(UTC)
                for task in tasks:
                    when = due_at[id(task)][1]
                    if when is None or when < now:
                        state.submit_task(task.name)
            time.sleep(_LOOP_SLEEP_TIME)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=100,
        help="give up a failing task after this many attempts (the emulator otherwise retries "
        "every 0.1 s forever)",
    )
    args = parser.parse_args()

    # target host/port only apply to App Engine tasks; ours are HTTP tasks with full URLs.
    state = QueueState("127.0.0.1", 80, max(args.max_attempts - 1, 0))
    server = grpc.server(ThreadPoolExecutor(max_workers=8))
    add_CloudTasksServicer_to_server(Greeter(state), server)
    if server.add_insecure_port(f"127.0.0.1:{args.port}") == 0:
        print(f"tasks emulator: cannot bind 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    server.start()
    processor = DueTasksProcessor(state)
    # Daemon, so SIGTERM's default action (and any exit) is never held up by its loop.
    processor.daemon = True
    processor.start()
    print(f"tasks emulator: serving on 127.0.0.1:{args.port}", flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
