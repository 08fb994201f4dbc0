"""How an artifact is answered: text as text, anything else as a download of its own type.

Decided from the path (the standard library's extension table) and the bytes (text must be
UTF-8). Text is only ever ``text/plain`` or ``text/markdown``: an agent's ``.html`` or ``.svg``
is never served as a page a browser would run, and downloads carry ``nosniff`` (every answer
does) so a browser keeps to the type given.
"""

from __future__ import annotations

import mimetypes
import posixpath

# Python's built-in table only (no filenames: the host's mime.types files are not read), so the
# answer does not depend on the machine serving it.
_TYPES = mimetypes.MimeTypes(filenames=())
_MARKDOWN = (".md", ".markdown")
# Types that are text whatever their top-level name says.
_TEXTUAL = {
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-sh",
    "application/x-python-code",
    "application/toml",
    "application/yaml",
    "application/x-yaml",
    "application/sql",
}
# Every type a text answer may have, and a stand-in for the guessed type of a download (the
# OpenAPI document lists these).
TEXT_PLAIN = "text/plain; charset=utf-8"
TEXT_MARKDOWN = "text/markdown; charset=utf-8"
DECLARED = ("text/plain", "text/markdown", "application/octet-stream", "*/*")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def media_of(path: str, data: bytes) -> tuple[str, bool]:
    """(Content-Type, shown inline as text?) for the artifact at ``path`` holding ``data``."""
    lower = path.lower()
    guessed = None if lower.endswith(_MARKDOWN) else _TYPES.guess_type(lower, strict=False)[0]
    textual = (
        guessed is None
        or guessed.startswith("text/")
        or guessed in _TEXTUAL
        or (guessed.endswith(("+json", "+xml")) and guessed != "image/svg+xml")
    )
    if textual:
        if _is_utf8(data):
            return (TEXT_MARKDOWN if lower.endswith(_MARKDOWN) else TEXT_PLAIN), True
        return "application/octet-stream", False  # named as text, but not text we can show
    return guessed or "application/octet-stream", False


def file_name(path: str) -> str:
    return posixpath.basename(path) or "artifact"
