"""Structured JSON logs for Cloud Logging, with per-request context and secret redaction.

Cloud Functions and Cloud Run forward each line a process writes to stdout to Cloud Logging,
which parses a line holding one JSON object into a structured entry: ``severity``, ``message``
and ``time`` become the entry's own fields, ``logging.googleapis.com/trace`` ties the entry to
its request, and every other key lands in ``jsonPayload`` where it can be filtered on.

Named ``log`` rather than ``logging`` so nobody reading an import confuses it with the stdlib.

No secret may ever reach a log: every value the secrets adapter hands out is registered here, and
each record is scrubbed twice, by ``RedactionFilter`` on the handler (so other formatters on the
same handler are safe too) and once more on the final JSON object just before it is written.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

from pythonjsonlogger.json import JsonEncoder, JsonFormatter

from cloudswarm.errors import ConfigError

REDACTED = "[REDACTED]"
TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
SOURCE_KEY = "logging.googleapis.com/sourceLocation"

# ---------------------------------------------------------------------------- redaction

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
# Rebuilt on every registration and swapped in whole, so readers never take the lock.
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Have ``value`` replaced by ``[REDACTED]`` wherever it would appear in a log from now on.

    The value without surrounding whitespace is registered too: a secret stored with
    ``echo ... | gcloud secrets create`` carries a trailing newline that callers strip. Even a
    very short value is honoured, since a shredded log is better than a leaked secret.
    """
    global _pattern
    if not value:
        return
    forms = {value, value.strip()} - {""}
    with _secrets_lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        # Longest first, so a secret containing another is replaced whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[REDACTED]``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(REDACTED, text)


_NATIVE = (int, float, bool, type(None))
_encoder = JsonEncoder()


def redact_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with every registered secret redacted, however deep.

    Objects JSON cannot hold are turned into text *before* redacting: if they were left to the
    encoder, their text would be produced after the scrub and could carry a secret out.
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, _NATIVE):
        return value
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    if isinstance(value, bytes | bytearray):
        # The default encoder would base64 them, hiding a secret from the scrub.
        return redact(bytes(value).decode("utf-8", "replace"))
    converted = _encoder.default(value)
    if isinstance(converted, _NATIVE):
        return converted
    if isinstance(converted, str | Mapping | list):
        return redact_value(converted)
    return redact(str(value))


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactionFilter(logging.Filter):
    """Scrub registered secrets from a record's message, arguments, traceback and extra fields.

    Attach it to a handler (handler filters see records from every logger). It merges the
    arguments into the message first, because a secret is often an argument, not the format.
    It never drops a record and never raises: a failing filter would break the caller.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        if isinstance(record.msg, Mapping) and not record.args:
            record.msg = redact_value(record.msg)
        else:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string must not hide the record
                message = f"{record.msg!r} % {record.args!r}"
            record.msg, record.args = redact(message), None
        if record.exc_info:
            # Render the traceback now so the exception's text can be scrubbed; formatters use
            # exc_text when exc_info is gone.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in record.__dict__.keys() - _STANDARD_ATTRS:
            record.__dict__[key] = redact_value(record.__dict__[key])
        return True


# ---------------------------------------------------------------------------- context

# Immutable default and values: a context is replaced on entry, never changed in place.
_fields: ContextVar[Mapping[str, Any]] = ContextVar(
    "cloudswarm_log_fields", default=MappingProxyType({})
)
_trace: ContextVar[tuple[str, str | None, bool | None] | None] = ContextVar(
    "cloudswarm_log_trace", default=None
)
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?$")


def parse_trace(header: str) -> tuple[str, str | None, bool | None] | None:
    """(trace id, span id in hex, sampled) from a W3C ``traceparent`` or an
    ``X-Cloud-Trace-Context`` header, or a bare trace id; None if it is neither."""
    header = header.strip()
    if m := _TRACEPARENT.match(header):
        return m[1], m[2], bool(int(m[3], 16) & 1)
    if m := _CLOUD_TRACE.match(header):
        # X-Cloud-Trace-Context gives the span id in decimal; Cloud Logging wants 16 hex digits.
        span = f"{int(m[2]):016x}" if m[2] and int(m[2]) < 2**64 else None
        return m[1].lower(), span, (m[3] == "1") if m[3] else None
    return None


@contextmanager
def log_context(*, trace: str | None = None, **fields: Any) -> Iterator[None]:
    """Add ``fields`` (e.g. swarm_id, agent_id, turn_id) to every record logged inside.

    Nested contexts add to the outer ones. ``trace`` takes a ``traceparent`` or
    ``X-Cloud-Trace-Context`` header, or a bare trace id, so entries group under the request.
    Context variables keep concurrent requests (threads or tasks) apart.
    """
    token = _fields.set(MappingProxyType({**_fields.get(), **fields}))
    trace_token = _trace.set(parse_trace(trace)) if trace else None
    try:
        yield
    finally:
        if trace_token is not None:
            _trace.reset(trace_token)
        _fields.reset(token)


def current_fields() -> dict[str, Any]:
    """The context fields in force here (a copy)."""
    return dict(_fields.get())


# ---------------------------------------------------------------------------- formatting


def _severity(levelno: int) -> str:
    # Cloud Logging's names; custom levels fall to the nearest standard one below.
    for floor, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO")):
        if levelno >= floor:
            return name
    return "DEBUG" if levelno >= 10 else "DEFAULT"


class CloudJsonFormatter(JsonFormatter):
    """One JSON object per record, in the shape Cloud Logging parses from stdout."""

    def __init__(self, project: str | None = None):
        super().__init__(
            "%(message)s",
            # Error Reporting picks up a traceback from a ``stack_trace`` field.
            rename_fields={"exc_info": "stack_trace"},
            json_ensure_ascii=False,
        )
        self.project = project

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        # Context fields first, so a field given explicitly with ``extra=`` wins.
        for key, value in _fields.get().items():
            log_data.setdefault(key, value)
        log_data["severity"] = _severity(record.levelno)
        log_data["time"] = (
            datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z")
        )
        log_data["logger"] = record.name
        log_data[SOURCE_KEY] = {
            "file": record.pathname,
            "line": str(record.lineno),
            "function": record.funcName,
        }
        if trace := _trace.get():
            trace_id, span_id, sampled = trace
            log_data[TRACE_KEY] = (
                f"projects/{self.project}/traces/{trace_id}" if self.project else trace_id
            )
            if span_id:
                log_data[SPAN_KEY] = span_id
            if sampled is not None:
                log_data[SAMPLED_KEY] = sampled

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The main fields lead the line for people reading raw output; then the last scrub.
        head = {k: log_data.pop(k) for k in ("severity", "message", "time") if k in log_data}
        return redact_value({**head, **log_data})


# ---------------------------------------------------------------------------- setup

_configure_lock = threading.Lock()


def _level(level: int | str | None) -> int:
    raw = level if level is not None else os.environ.get("CLOUDSWARM_LOG_LEVEL") or "INFO"
    if isinstance(raw, int):
        return raw
    value = logging.getLevelName(raw.strip().upper())
    if not isinstance(value, int):
        raise ConfigError(
            f"log level {raw!r} is unknown: set CLOUDSWARM_LOG_LEVEL to one of "
            "DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )
    return value


def configure_logging(
    level: int | str | None = None, *, stream: IO[str] | None = None, project: str | None = None
) -> logging.Handler:
    """Send the root logger's records to ``stream`` (stdout) as Cloud Logging JSON lines.

    Safe to call on every cold start and from every entry point: a second call updates the one
    handler instead of adding another (which would print every line twice). Handlers someone
    else put on the root logger stay, but get the redaction filter too. ``level`` defaults to
    ``CLOUDSWARM_LOG_LEVEL``, then INFO; ``project`` (for trace names) to GOOGLE_CLOUD_PROJECT.
    """
    root = logging.getLogger()
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCP_PROJECT")
    with _configure_lock:
        handler = next((h for h in root.handlers if getattr(h, "_cloudswarm", False)), None)
        if handler is None:
            handler = logging.StreamHandler(stream or sys.stdout)
            handler._cloudswarm = True  # type: ignore[attr-defined]
            root.addHandler(handler)
        elif stream is not None:
            handler.setStream(stream)  # type: ignore[attr-defined]
        handler.setFormatter(CloudJsonFormatter(project))
        root.setLevel(_level(level))
        for h in root.handlers:
            if not any(isinstance(f, RedactionFilter) for f in h.filters):
                h.addFilter(RedactionFilter())
    return handler
