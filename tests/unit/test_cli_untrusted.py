"""The CLI's sanitiser of outside text, and rich rendering of it in a real terminal mode."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from cloudswarm.cli import render, untrusted
from tests import hostile


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (hostile.OSC_TITLE, ""),
        (hostile.OSC_LINK, "click"),
        (hostile.CSI, "red"),
        (hostile.C1_CSI, ""),
        (hostile.BIDI, "evil iso "),
        (hostile.CONTROLS, "bs cr bell del vt ff"),
        ("nul\x00end", "nulend"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("\x1b(B\x1bcreset", "reset"),  # charset and full-reset escapes
        ("unterminated \x1b]0;title", "unterminated 0;title"),  # shown, but inert
        ("dcs \x1bPq#0;2;0;0;0\x1b\\ sixel", "dcs  sixel"),
        ("8-bit osc \x9d0;t\x9c ok", "8-bit osc  ok"),
        ("café 東京 ✓", "café 東京 ✓"),  # ordinary non-ASCII is untouched
    ],
)
def test_escape_and_control_sequences_are_removed(raw, shown):
    assert untrusted.clean(raw) == shown


def test_newlines_and_tabs_are_kept_only_in_blocks():
    assert untrusted.block("a\r\nb\tc\n") == "a\nb\tc\n"
    assert untrusted.line("a\r\nb\tc\n") == "a b c "


def test_long_text_is_cut_with_a_marker():
    assert untrusted.cell(hostile.LONG) == "L" * untrusted.CELL + "… (+99800 chars)"
    assert untrusted.line("short") == "short"
    assert untrusted.clean(hostile.LONG) == hostile.LONG  # no limit unless asked


def test_json_values_are_cleaned_throughout():
    value = {"a\x1b[2J": [hostile.OSC_TITLE + "x", {"n": 1, "s": "ok\u202e"}], "b": None}
    assert untrusted.data(value) == {"a": ["x", {"n": 1, "s": "ok"}], "b": None}


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    # A real terminal mode: rich writes its own styles, hyperlinks and emoji here.
    return Console(file=out, force_terminal=True, width=200, highlight=False), out


def _assert_safe(raw: str) -> None:
    assert "\x1b]" not in raw  # no OSC: no title, no hyperlink
    assert "\x1b[2J" not in raw and "\x9b" not in raw and "\x00" not in raw
    for bad in ("\u202e", "\u2066", "\r", "\x08", "\x07", "\x7f", "\N{THUMBS UP SIGN}"):
        assert bad not in raw


def test_an_event_line_shows_hostile_text_literally():
    console, out = _terminal()
    console.print(render.event_line({"at": "2026-01-01T12:00:00Z", "actor": hostile.COMBO,
                                     "summary": hostile.WITH_NUL}))  # fmt: skip
    raw = out.getvalue()
    _assert_safe(raw)
    for piece in [hostile.GOAL, *hostile.PIECES]:
        assert piece in raw, piece


def test_a_table_shows_hostile_cells_literally_and_cuts_long_ones():
    console, out = _terminal()
    rows = [[hostile.COMBO, render.styled(hostile.OSC_TITLE + "running"), hostile.LONG]]
    render.table(console, "Tasks of " + hostile.GOAL, ["a", "status", "long"], rows)
    raw = out.getvalue()
    _assert_safe(raw)
    assert hostile.GOAL in raw and "(+99800 chars)" in raw
    assert raw.count("\n") < 40  # a 100 kB cell is not folded into thousands of lines


def test_a_status_that_is_not_ours_gets_no_style_of_its_own():
    assert render.styled("[red]x[/]").plain == "[red]x[/]"
    assert str(render.styled("running").style) == "green"
