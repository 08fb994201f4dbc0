"""How an artifact is answered: text only as text/plain or text/markdown, the rest as a
download of the type its path implies."""

from __future__ import annotations

import pytest

from cloudswarm.api.media import TEXT_MARKDOWN, TEXT_PLAIN, file_name, media_of


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("docs/plan.md", b"# hi", (TEXT_MARKDOWN, True)),
        ("README.MARKDOWN", b"# hi", (TEXT_MARKDOWN, True)),
        ("src/a.py", b"print(1)", (TEXT_PLAIN, True)),
        ("data.json", b"{}", (TEXT_PLAIN, True)),
        ("table.csv", "a,\u00e9".encode(), (TEXT_PLAIN, True)),
        ("Makefile", b"all:", (TEXT_PLAIN, True)),  # no extension, UTF-8: text
        # A page or a drawing an agent wrote is never served as one.
        ("page.html", b"<script>x</script>", (TEXT_PLAIN, True)),
        ("logo.svg", b"<svg onload=x>", ("image/svg+xml", False)),
        ("chart.png", b"\x89PNG\r\n", ("image/png", False)),
        ("report.pdf", b"%PDF", ("application/pdf", False)),
        ("blob", b"\xff\xfe", ("application/octet-stream", False)),
        ("notes.txt", b"\xff\xfe", ("application/octet-stream", False)),  # not UTF-8
    ],
)
def test_the_answer_type_follows_the_path_and_the_bytes(path, data, expected):
    assert media_of(path, data) == expected


def test_a_download_is_named_by_the_last_part_of_its_path():
    assert file_name("out/charts/a b.png") == "a b.png"
