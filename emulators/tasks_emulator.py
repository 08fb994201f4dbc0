"""Run gcloud-tasks-emulator bound to 127.0.0.1 only.

Runs under .venv-tasks/bin/python (the emulator needs protobuf<5), so it imports nothing from the
project. The emulator's own entry point binds `[::]` whatever host it is given; this builds the
same server from its parts and binds loopback instead. Queues are created by the bootstrap
through the real client, not here.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc
from gcloud_tasks_emulator.cloudtasks_pb2_grpc import add_CloudTasksServicer_to_server
from gcloud_tasks_emulator.server import Greeter, Processor, QueueState


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
    processor = Processor(state)
    # Daemon, so SIGTERM's default action (and any exit) is never held up by its loop.
    processor.daemon = True
    processor.start()
    print(f"tasks emulator: serving on 127.0.0.1:{args.port}", flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
