"""Text from outside (goals, events, messages, task titles, agent names, errors, ...) made safe
to show in a terminal.

Two things make such text dangerous there. rich reads ``[...]`` in a string as markup and
``:name:`` as an emoji code: ``Fix the [/] bug`` raises MarkupError, ``list[int]`` loses its
``[int]``, ``[link=...]`` becomes a hyperlink. So callers wrap the result in a ``rich.text.Text``,
which rich never parses. And the terminal itself obeys escape and control sequences: an OSC
(``ESC ] 0 ; title BEL``) retitles the window or opens a link, a CSI moves the cursor or clears
the screen, a CR or backspace overwrites what was printed before, bidi overrides reorder what the
reader sees (Trojan Source). Those are removed here.

A regular expression rather than a library: no maintained package strips both 7- and 8-bit
ECMA-48 sequences, C0/C1 controls and bidi controls together; the grammar is short and is
spelled out below.
"""

from __future__ import annotations

import re

# Whole sequences first, so their parameters do not survive as visible debris.
_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [\x20-/]* [@-~]               # CSI ... final byte (colours, cursor)
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])               # OSC, DCS, SOS, PM, APC strings ...
      [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)                 # ... up to BEL or ST
    | \x1b [\x20-/]* [0-~]                                  # any other escape (charset, reset)
    """,
    re.VERBOSE,
)
# Then any control left (a lone ESC, an unterminated string's introducer, NUL, CR, BS, DEL, C1),
# the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), and lone surrogates,
# which JSON can carry but no terminal encoding can write.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

CELL = 200  # a table cell: the whole value is in --json
LINE = 2000  # one line of a feed or a heading
BLOCK = 20000  # a multi-line block such as a swarm's outcome


def clean(value, *, multiline: bool = True, limit: int | None = None) -> str:
    """``value`` as plain, printable text: escape and control sequences removed, newlines and
    tabs kept only when ``multiline``, cut to ``limit`` characters with a marker saying so."""
    text = "" if value is None else str(value)
    text = _CONTROLS.sub("", _SEQUENCES.sub("", text.replace("\r\n", "\n")))
    if not multiline:
        text = text.replace("\n", " ").replace("\t", " ")
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… (+{len(text) - limit} chars)"
    return text


def line(value, limit: int = LINE) -> str:
    return clean(value, multiline=False, limit=limit)


def cell(value, limit: int = CELL) -> str:
    return clean(value, multiline=False, limit=limit)


def block(value, limit: int = BLOCK) -> str:
    return clean(value, multiline=True, limit=limit)


def data(value):
    """Every string inside a JSON value cleaned (newlines kept), for a human rendering of it."""
    if isinstance(value, str):
        return block(value, limit=None)
    if isinstance(value, dict):
        return {block(k, limit=None): data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [data(v) for v in value]
    return value
