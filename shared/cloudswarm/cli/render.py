"""Tables and lines for people; ``--json`` prints the API's answer as it is instead.

Every value that came from the API is shown through ``rich.text.Text`` after
``untrusted.clean``: never interpolated into a markup string (see cloudswarm.cli.untrusted).
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cloudswarm.cli import untrusted

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


def styled(status: str | None) -> Text:
    s = untrusted.cell(status or "?", limit=40)
    return Text(s, style=STATUS_STYLE.get(s, "white"))


def text(*parts) -> Text:
    """One line from parts: a ``str`` is untrusted text, a ``(str, style)`` pair is too (the
    style is ours), a ``Text`` is already built. Nothing is read as markup."""
    out = Text()
    for p in parts:
        if isinstance(p, Text):
            out.append_text(p)
        elif isinstance(p, tuple):
            out.append(untrusted.line(p[0]), style=p[1])
        else:
            out.append(untrusted.line(p))
    return out


def dump(console: Console, data) -> None:
    # Plain print: rich would wrap long lines and break the JSON for a pipe. json.dumps escapes
    # every control and non-ASCII character, so nothing reaches the terminal raw.
    console.out(json.dumps(data, indent=2, default=str), highlight=False)


def when(value: str | None) -> str:
    return untrusted.cell(str(value or "")[:19]).replace("T", " ")


def table(console: Console, title: str, columns: list[str], rows: list[list]) -> None:
    t = Table(title=Text(untrusted.line(title)), title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[x if isinstance(x, Text) else Text(untrusted.cell(x)) for x in r])
    console.print(t)


def usd(value) -> str:
    return f"${float(value or 0):.4f}"


def event_line(e: dict) -> Text:
    return text((when(e.get("at"))[11:], "dim"), " ", (e.get("actor", ""), "bold"), " ",
                e.get("summary", ""))  # fmt: skip
