"""Hostile text for the CLI and UI suites: what an agent, a web page, a webhook or another
operator could put in a goal, a message, an event, a task title or a name.

``PIECES`` must each be shown literally (a markup parser would eat or act on them); nothing in
``FORBIDDEN`` may reach a terminal.
"""

from __future__ import annotations

OSC_TITLE = "\x1b]0;pwned\x07"  # retitles the terminal window
OSC_LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # a terminal hyperlink
CSI = "\x1b[2J\x1b[31mred\x1b[0m"  # clears the screen, colours
C1_CSI = "\x9b31m"  # the 8-bit CSI
BIDI = "\u202eevil\u202c \u2066iso\u2069 \u202a\u202b\u202d\u2067\u2068"  # Trojan Source
CONTROLS = "bs\x08 cr\r bell\x07 del\x7f vt\x0b ff\x0c"

# Each without a space, so a table that wraps at spaces still shows it whole.
PIECES = [
    "[/]",
    "list[int]",
    "dict[str,int]",
    "[link=https://evil.example/]click[/link]",
    "[bold]b[/]",
    ":thumbs_up:",
    "<script>alert(1)</script>",
    '<img/src=x/onerror="alert(2)">',
]
GOAL = "Fix the [/] bug"
TYPED = "Handle list[int] and dict[str, int] types"

# Everything at once, in the order a display would meet it; no NUL (argv cannot carry one).
COMBO = " ".join([GOAL, *PIECES, OSC_TITLE, OSC_LINK, CSI, C1_CSI, BIDI, CONTROLS])
WITH_NUL = COMBO + " nul\x00end"
LONG = "L" * 100_000  # one 100 kB line

FORBIDDEN = [
    "\x1b",
    "\x00",
    "\x9b",
    "\r",
    "\x08",
    "\x07",
    "\x7f",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "Traceback",
    "\N{THUMBS UP SIGN}",  # an emoji code read as such
]
