"""`make demo`: a real swarm on the local stack, followed live until it finishes.

With ANTHROPIC_API_KEY set the agents talk to Claude; otherwise to the local model server, which
plays the demo scenario (a lead plans six dependent tasks for three teammates). From a terminal
the stack stays up afterwards so the UI can be explored; with CI=true or without a terminal it
stops the stack and exits 0 only when the swarm completed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time

from emulators.stack import Stack

GOAL = (
    "Write a short field guide to running a bake sale: research what sells, plan the menu and "
    "prices, write the guide, and review it."
)
TERMINAL = {"completed", "failed", "killed"}


def follow(sid: str, timeout_s: float, say=print) -> dict:
    """Print progress whenever it changes; return the final swarm document."""
    from cloudswarm import runtime

    store = runtime.store()
    last, deadline, tick = None, time.monotonic() + timeout_s, threading.Event()
    while True:
        swarm = store.get_swarm(sid)
        agents = store.list_agents(sid)
        tokens = sum(
            sum(v for k, v in a.get("usage", {}).items() if k.endswith("tokens")) for a in agents
        )
        cost = sum(a.get("usage", {}).get("cost_usd", 0) for a in agents)
        busy = [a["id"] for a in agents if a.get("status") == "running"]
        line = (
            f"[{swarm['status']}] agents {len(agents)} (working: {', '.join(busy) or '-'}) | "
            f"tasks {swarm.get('tasks_done', 0)}/{swarm.get('task_count', 0)} done | "
            f"tokens {tokens:,} | cost ${cost:.4f}"
        )
        if line != last:
            say(line)
            last = line
        if swarm["status"] in TERMINAL or swarm["status"] == "paused":
            return swarm
        if time.monotonic() > deadline:
            say(f"timed out after {timeout_s:.0f}s")
            return swarm
        tick.wait(0.5)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--goal", default=GOAL)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    interactive = sys.stdin.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")
    stack = Stack(profile="full")
    started = stack.up()
    os.environ.update(stack.env())
    from cloudswarm import service
    from cloudswarm.core.models import Budget
    from cloudswarm.settings import settings

    using = (
        "Claude (ANTHROPIC_API_KEY)"
        if os.environ.get("ANTHROPIC_API_KEY")
        else ("the local model server (demo scenario)")
    )
    print(f"model: {using}")
    sid, _ = service.start_swarm(args.goal, actor="demo", budget=Budget(usd=5.0))
    print(f"swarm {sid} started: {args.goal}")
    print(
        f"watch it live: {stack.config.url('web')}/ (sign in with the API key in "
        f"{stack.run_dir / 'admin-key'})\n"
    )
    try:
        swarm = follow(sid, args.timeout)
    except KeyboardInterrupt:
        swarm = {"status": "interrupted"}
    s = settings()
    print(
        f"\nswarm {sid}: {swarm['status']}"
        + (f" — {swarm.get('summary')}" if swarm.get("summary") else "")
    )
    print(
        f"transcripts: gs://{s.bucket('transcripts')}/{sid}/ (GCS emulator at "
        f"{os.environ['STORAGE_EMULATOR_HOST']})"
    )
    print(f"artifacts:   gs://{s.bucket('artifacts')}/{sid}/")
    print(f"API:         {os.environ.get('CLOUDSWARM_API_URL')}")
    print(f"web UI:      {stack.config.url('web')}/#/swarms/{sid}")
    ok = swarm["status"] == "completed"
    if interactive:
        print("\nThe stack stays up for exploring; Ctrl-C stops it.")
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    if started:
        stack.down()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
