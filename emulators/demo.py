"""`make demo`: a real swarm on the local stack, followed live until it finishes.

With ANTHROPIC_API_KEY set the agents talk to Claude; otherwise to the local model server, which
plays the demo scenario (a lead plans six dependent tasks for three teammates). With
``--team repo`` (``make demo TEAM=repo``) the repository team fixes an issue on the local MCP
server; each write it asks for waits for a human, and unattended (CI=true) the demo approves
through the API as a named human and says so. From a terminal
the stack stays up afterwards so the UI can be explored; with CI=true or without a terminal it
stops the stack and exits 0 only when the swarm completed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
import time
import urllib.request

from cloudswarm.cli.untrusted import line as safe
from emulators.config import PROFILES
from emulators.stack import Stack

GOAL = (
    "Write a short field guide to running a bake sale: research what sells, plan the menu and "
    "prices, write the guide, and review it."
)
TERMINAL = {"completed", "failed", "killed"}
NEEDED = PROFILES["full"]
# How often, while nothing changes, the demo checks that the stack still serves the swarm.
QUIET_CHECK_S = 15.0


def what_is_missing(stack: Stack) -> str | None:
    """Why a running stack cannot run the demo, with what to run instead; None if it can."""
    missing = stack.missing(NEEDED)
    if not missing:
        return None
    listed = ", ".join(f"{name} ({why})" for name, why in missing.items())
    return (
        f"the stack in {stack.run_dir} cannot run the demo: {listed}. "
        "The demo needs the whole stack: run `make stack-down`, then `make demo` (which starts "
        "it) or `make stack-up` (the whole stack by default) and `make demo` again"
    )


REPO_GOAL = "Fix the open issue in the repository and open a pull request for it."
APPROVER = "demo-approver"


class Approvals:
    """The repository team's approvals during the demo: each pending one is shown once with the
    CLI line and the UI page that decide it; unattended, approved through the API as a named
    human (``APPROVER``), saying so."""

    def __init__(self, stack: Stack, sid: str, unattended: bool, say=print) -> None:
        self.stack, self.sid, self.unattended, self.say = stack, sid, unattended, say
        self.seen: set[str] = set()
        self._token = ""

    def __call__(self) -> None:
        from cloudswarm import runtime

        for a in runtime.store().list_approvals(self.sid, status="pending", limit=10):
            if a["id"] in self.seen:
                continue
            self.seen.add(a["id"])
            call = a.get("call") or {}
            what = f"{call.get('server')}__{call.get('tool')} {json.dumps(call.get('arguments'))}"
            self.say(
                f"\n{safe(a['agent_id'])} waits for approval {a['id']}: "
                + safe(what if call else a["action"])
            )
            if self.unattended:
                self._approve(a["id"])
                self.say(f"approved through the API by {APPROVER} (unattended: CI=true)")
                continue
            key = self.stack.run_dir / "admin-key"
            self.say(
                "approve it:  "
                f"CLOUDSWARM_API_KEY=$(cat {key}) cloudswarm --url "
                f"{os.environ.get('CLOUDSWARM_API_URL')} approve {self.sid} {a['id']}\n"
                f"or in the UI: {self.stack.config.url('web')}/#/swarms/{self.sid}/approvals"
            )

    def _approve(self, approval_id: str) -> None:
        api = os.environ["CLOUDSWARM_API_URL"]
        if not self._token:
            key = (self.stack.run_dir / "admin-key").read_text().strip()
            self._token = _post(f"{api}/api/auth/token", {"api_key": key})["token"]
        url = f"{api}/api/swarms/{self.sid}/approvals/{approval_id}/approve"
        _post(url, {"comment": f"approved by {APPROVER} for the unattended demo"}, self._token)


def _post(url: str, body: dict, token: str = "") -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as resp:
        return json.loads(resp.read())


def _print_pull_requests(stack: Stack) -> None:
    """What the repository team opened, from the local MCP server's own state."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(stack.config.url("mcp") + "/_control/state", timeout=10) as resp:
        state = json.loads(resp.read())
    for pr in state["pull_requests"]:
        print(
            f"pull request #{pr['number']}: {safe(pr['title'])} "
            f"({safe(pr['head'])} -> {safe(pr['base'])})"
        )
    if not state["pull_requests"]:
        print("no pull request was opened")


def follow(sid: str, timeout_s: float, say=print, check=lambda: None, each=lambda: None) -> dict:
    """Print progress whenever it changes; return the final swarm document. `check()` says what
    keeps the swarm from progressing (a service gone) or None: asked when nothing has changed
    for a while, so a dead stack is named at once instead of waited out."""
    from cloudswarm import runtime

    store = runtime.store()
    last, deadline, tick = None, time.monotonic() + timeout_s, threading.Event()
    changed = time.monotonic()
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
            last, changed = line, time.monotonic()
        elif time.monotonic() - changed > QUIET_CHECK_S:
            problem = check()
            if problem:
                say(f"stopped following: {problem}")
                return swarm
            changed = time.monotonic()
        if swarm["status"] in TERMINAL or swarm["status"] == "paused":
            return swarm
        each()
        if time.monotonic() > deadline:
            say(f"timed out after {timeout_s:.0f}s")
            return swarm
        tick.wait(0.5)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _print_deliverable(stack: Stack, sid: str) -> None:
    """The swarm's product is what its agents wrote to the workspace: where, and the line that
    prints each file."""
    from cloudswarm import runtime

    files, _ = runtime.store().page_artifacts(sid, prefix="", limit=100, token=None)
    web = f"{stack.config.url('web')}/#/swarms/{sid}/workspace"
    print(f"\ndeliverable: {len(files)} file(s) in the workspace, {web}")
    login = (
        f"CLOUDSWARM_API_KEY=$(cat {stack.run_dir / 'admin-key'}) "
        f"cloudswarm --url {os.environ.get('CLOUDSWARM_API_URL')}"
    )
    for f in files:
        by = safe(f["updated_by"])
        print(f"  {safe(f['path'])} (v{f['version']}, {f['size']} bytes, by {by})")
    # The file written last is the likeliest deliverable (a review, a final report).
    for f in sorted(files, key=lambda f: f["updated_at"])[-1:]:
        print(f"print it:    {login} artifacts get {sid} {shlex.quote(f['path'])}")
    print(f"list them:   {login} artifacts {sid}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--goal", default=GOAL)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument(
        "--team", default="", help="a team template (repo: the repository team, with approvals)"
    )
    args = ap.parse_args(argv)
    interactive = sys.stdin.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")
    stack = Stack(profile="full")
    if stack.running():
        problem = what_is_missing(stack)
        if problem:
            print(f"demo: {problem}", file=sys.stderr)
            return 2
        print(f"demo: using the stack running in {stack.run_dir}")
        started = False
    else:
        started = stack.up()
    os.environ.update(stack.env())
    from cloudswarm import service
    from cloudswarm.core.models import Budget
    from cloudswarm.settings import settings

    scenario = "repo" if args.team == "repo" else "demo"
    using = (
        "Claude (ANTHROPIC_API_KEY)"
        if os.environ.get("ANTHROPIC_API_KEY")
        else (f"the local model server ({scenario} scenario)")
    )
    print(f"model: {using}")
    goal, each = args.goal, lambda: None
    if args.team:
        if not os.environ.get("ANTHROPIC_API_KEY"):
            _post(stack.config.url("model") + "/_control/scenario", {"name": scenario})
        goal = REPO_GOAL if args.team == "repo" and goal == GOAL else goal
        sid, _ = service.start_swarm(goal, actor="demo", budget=Budget(usd=5.0), team=args.team)
        each = Approvals(stack, sid, unattended=not interactive)
        print(f"team template {args.team}: every write waits for a human's approval")
    else:
        sid, _ = service.start_swarm(goal, actor="demo", budget=Budget(usd=5.0))
    print(f"swarm {sid} started: {goal}")
    print(
        f"watch it live: {stack.config.url('web')}/ (sign in with the API key in "
        f"{stack.run_dir / 'admin-key'})\n"
    )
    try:
        swarm = follow(sid, args.timeout, check=lambda: what_is_missing(stack), each=each)
    except KeyboardInterrupt:
        swarm = {"status": "interrupted"}
    s = settings()
    print(
        f"\nswarm {sid}: {swarm['status']}"
        + (f" — {safe(swarm.get('summary'))}" if swarm.get("summary") else "")
    )
    print(
        f"transcripts: gs://{s.bucket('transcripts')}/{sid}/ (GCS emulator at "
        f"{os.environ['STORAGE_EMULATOR_HOST']})"
    )
    print(f"artifacts:   gs://{s.bucket('artifacts')}/{sid}/")
    print(f"API:         {os.environ.get('CLOUDSWARM_API_URL')}")
    print(f"web UI:      {stack.config.url('web')}/#/swarms/{sid}")
    _print_deliverable(stack, sid)
    if args.team == "repo":
        _print_pull_requests(stack)
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
