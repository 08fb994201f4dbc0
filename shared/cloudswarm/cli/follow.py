"""Follow a swarm live until it ends: its activity feed as lines, and a progress display."""

from __future__ import annotations

import threading
import time

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar

from cloudswarm.cli.client import Client, CliError
from cloudswarm.cli.render import event_line, text, usd

TERMINAL = frozenset({"completed", "failed", "killed"})
PAGE = 200


class Follower:
    def __init__(self, client: Client, sid: str, console: Console, interval: float = 1.0):
        self.client, self.sid, self.console, self.interval = client, sid, console, interval
        self.cursor: str | None = None  # id of the last event shown: the next page starts after
        self.started = time.monotonic()
        self.stop = threading.Event()

    def run(self, timeout: float | None = None) -> dict:
        """Poll until the swarm reaches a final status; returns the final swarm document."""
        live = (
            Live(self._view({}, []), console=self.console, refresh_per_second=4, transient=True)
            if self.console.is_terminal
            else None
        )
        try:
            if live:
                live.start()
            while True:
                swarm = self.client.get(f"/api/swarms/{self.sid}")
                agents = self.client.get(f"/api/swarms/{self.sid}/agents")["agents"]
                # Events are read after the status, so the final events are printed too.
                self._drain()
                if live:
                    live.update(self._view(swarm, agents))
                if swarm["status"] in TERMINAL:
                    return swarm
                if timeout is not None and time.monotonic() - self.started > timeout:
                    raise CliError(f"swarm {self.sid} still {swarm['status']} after {timeout} s")
                self.stop.wait(self.interval)
        finally:
            if live:
                live.stop()

    def _drain(self) -> None:
        while True:
            page = self.client.get(
                f"/api/swarms/{self.sid}/events", limit=PAGE, page_token=self.cursor
            )["events"]
            for e in page:
                self.console.print(event_line(e), highlight=False)
                self.cursor = e["id"]
            if len(page) < PAGE:
                return

    def _view(self, swarm: dict, agents: list[dict]):
        total, done = swarm.get("task_count") or 0, swarm.get("tasks_done") or 0
        spent = sum(float((a.get("usage") or {}).get("cost_usd") or 0) for a in agents)
        busy = sum(1 for a in agents if a.get("status") == "running")
        elapsed = int(time.monotonic() - self.started)
        line = text(
            (f"{self.sid} ", "bold"),
            (swarm.get("status", "starting"), "green"),
            f"  agents {len(agents)} ({busy} working)",
            f"  tasks {done}/{total}",
            f"  spend {usd(spent)}",
            f"  {elapsed // 60:02d}:{elapsed % 60:02d}",
        )
        return Group(line, ProgressBar(total=max(total, 1), completed=done, width=40))
