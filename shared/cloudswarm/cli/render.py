"""Tables and lines for people; ``--json`` prints the API's answer as it is instead."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

STATUS_STYLE = {
    "running": "green",
    "paused": "yellow",
    "completed": "blue",
    "failed": "red",
    "killed": "red",
    "idle": "dim",
    "waiting_approval": "magenta",
    "stopped": "dim",
    "ready": "cyan",
    "blocked": "dim",
    "in_progress": "yellow",
    "done": "green",
    "cancelled": "dim",
    "pending": "magenta",
    "approved": "green",
    "rejected": "red",
}


def styled(status: str | None) -> str:
    s = status or "?"
    return f"[{STATUS_STYLE.get(s, 'white')}]{s}[/]"


def dump(console: Console, data) -> None:
    # Plain print: rich would wrap long lines and break the JSON for a pipe.
    console.out(json.dumps(data, indent=2, default=str), highlight=False)


def when(value: str | None) -> str:
    return (value or "")[:19].replace("T", " ")


def table(console: Console, title: str, columns: list[str], rows: list[list]) -> None:
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[str(x) if x is not None else "" for x in r])
    console.print(t)


def usd(value) -> str:
    return f"${float(value or 0):.4f}"


def event_line(e: dict) -> str:
    return f"[dim]{when(e.get('at'))[11:]}[/] [bold]{e.get('actor', '')}[/] {e.get('summary', '')}"
