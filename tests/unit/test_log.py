"""JSON log lines in Cloud Logging's shape, context fields, traces, and secret redaction."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

import pytest

from cloudswarm import log
from cloudswarm.errors import ConfigError


def new_secret(extra: str = "") -> str:
    """A unique secret per test: the registry is process-wide and never forgets."""
    value = f"sk-test-{uuid.uuid4().hex}{extra}"
    log.register_secret(value)
    return value


class Capture:
    """A private logger writing JSON lines to a buffer, isolated from the root logger."""

    def __init__(self, project: str | None = "proj"):
        self.buffer = io.StringIO()
        self.handler = logging.StreamHandler(self.buffer)
        self.handler.setFormatter(log.CloudJsonFormatter(project))
        self.handler.addFilter(log.RedactionFilter())
        self.logger = logging.getLogger(f"test.{uuid.uuid4().hex}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self.handler)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict]:
        raw = self.text.splitlines()
        assert all(line.startswith("{") for line in raw), raw
        return [json.loads(line) for line in raw]

    def one(self) -> dict:
        (entry,) = self.lines()
        return entry


@pytest.fixture
def cap() -> Capture:
    return Capture()


# ---------------------------------------------------------------------------- shape


def test_one_json_object_per_line_with_cloud_logging_fields(cap):
    cap.logger.info("hello %s", "world")
    cap.logger.warning("careful\nsecond line")
    first, second = cap.lines()
    assert list(first)[:3] == ["severity", "message", "time"]
    assert first["severity"] == "INFO"
    assert first["message"] == "hello world"
    assert second["severity"] == "WARNING"
    assert second["message"] == "careful\nsecond line"
    when = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert first["time"].endswith("Z")
    assert abs((datetime.now(when.tzinfo) - when).total_seconds()) < 60
    assert first["logger"] == cap.logger.name
    source = first[log.SOURCE_KEY]
    assert source["file"].endswith("test_log.py")
    assert source["function"] == "test_one_json_object_per_line_with_cloud_logging_fields"
    # Nothing of LogRecord's internals leaks into the payload.
    for internal in ("levelname", "args", "msg", "pathname", "exc_info", "process"):
        assert internal not in first


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (5, "DEFAULT"),
        (10, "DEBUG"),
        (20, "INFO"),
        (25, "INFO"),
        (30, "WARNING"),
        (40, "ERROR"),
        (50, "CRITICAL"),
        (60, "CRITICAL"),
    ],
)
def test_severity_names(cap, level, severity):
    cap.logger.setLevel(1)
    cap.logger.log(level, "x")
    assert cap.one()["severity"] == severity


def test_extra_fields_are_structured(cap):
    cap.logger.info("turn done", extra={"tokens": 12, "tools": ["a", "b"], "usage": {"usd": 0.5}})
    entry = cap.one()
    assert entry["tokens"] == 12
    assert entry["tools"] == ["a", "b"]
    assert entry["usage"] == {"usd": 0.5}


def test_exceptions_go_to_stack_trace(cap):
    try:
        raise ValueError("bad thing")
    except ValueError:
        cap.logger.exception("failed")
    entry = cap.one()
    assert entry["severity"] == "ERROR"
    assert entry["message"] == "failed"
    assert "Traceback" in entry["stack_trace"]
    assert "ValueError: bad thing" in entry["stack_trace"]


# ---------------------------------------------------------------------------- context


def test_context_fields_nest_and_unwind(cap):
    with log.log_context(swarm_id="s1"):
        cap.logger.info("outer")
        with log.log_context(agent_id="a1", turn_id="t1"):
            cap.logger.info("inner")
            assert log.current_fields() == {"swarm_id": "s1", "agent_id": "a1", "turn_id": "t1"}
        cap.logger.info("outer again")
    cap.logger.info("outside")
    outer, inner, again, outside = cap.lines()
    assert outer["swarm_id"] == "s1" and "agent_id" not in outer
    assert (inner["swarm_id"], inner["agent_id"], inner["turn_id"]) == ("s1", "a1", "t1")
    assert "agent_id" not in again and again["swarm_id"] == "s1"
    assert "swarm_id" not in outside


def test_context_unwinds_on_error(cap):
    with pytest.raises(RuntimeError), log.log_context(agent_id="a1"):
        raise RuntimeError
    assert log.current_fields() == {}


def test_explicit_extra_beats_context(cap):
    with log.log_context(agent_id="from-context"):
        cap.logger.info("x", extra={"agent_id": "explicit"})
    assert cap.one()["agent_id"] == "explicit"


def test_context_is_per_thread(cap):
    barrier = threading.Barrier(2)

    def work(agent: str) -> None:
        with log.log_context(agent_id=agent):
            barrier.wait()  # both contexts are open at once
            cap.logger.info(agent)

    threads = [threading.Thread(target=work, args=(a,)) for a in ("a1", "a2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {e["message"]: e["agent_id"] for e in cap.lines()} == {"a1": "a1", "a2": "a2"}


TRACE = "105445aa7843bc8bf206b12000100000"


@pytest.mark.parametrize(
    ("header", "span", "sampled"),
    [
        (f"{TRACE}/1;o=1", "0000000000000001", True),
        (f"{TRACE}/255;o=0", "00000000000000ff", False),
        (TRACE.upper(), None, None),
        (f"00-{TRACE}-00f067aa0ba902b7-01", "00f067aa0ba902b7", True),
        (f"00-{TRACE}-00f067aa0ba902b7-00", "00f067aa0ba902b7", False),
    ],
)
def test_trace_from_headers(cap, header, span, sampled):
    with log.log_context(trace=header):
        cap.logger.info("x")
    entry = cap.one()
    assert entry[log.TRACE_KEY] == f"projects/proj/traces/{TRACE}"
    assert entry.get(log.SPAN_KEY) == span
    assert entry.get(log.SAMPLED_KEY) == sampled


def test_no_trace_key_without_a_trace_or_with_garbage(cap):
    cap.logger.info("a")
    with log.log_context(trace="not-a-trace"):
        cap.logger.info("b")
    assert all(log.TRACE_KEY not in e for e in cap.lines())


def test_trace_without_a_project_is_the_bare_id():
    cap = Capture(project=None)
    with log.log_context(trace=TRACE):
        cap.logger.info("x")
    assert cap.one()[log.TRACE_KEY] == TRACE


# ---------------------------------------------------------------------------- redaction


def assert_absent(text: str, secret: str) -> None:
    assert secret not in text
    assert json.dumps(secret)[1:-1] not in text  # nor its JSON-escaped form


def test_planted_secret_is_redacted_everywhere(cap):
    secret = new_secret()

    @dataclass
    class Holder:
        key: str

    class Opaque:
        def __str__(self) -> str:
            return f"opaque({secret})"

    with log.log_context(api_key=secret):
        cap.logger.info(
            f"message {secret} and %s and %r",
            secret,
            {"nested": secret},
            extra={
                "field": secret,
                "deep": {"list": [1, f"x{secret}y"], secret: "as a key"},
                "raw": secret.encode(),
                "holder": Holder(secret),
                "opaque": Opaque(),
            },
        )
    assert_absent(cap.text, secret)
    entry = cap.one()
    assert entry["message"].startswith("message [REDACTED] and [REDACTED] and {'nested': '")
    assert entry["field"] == "[REDACTED]"
    assert entry["deep"] == {"list": [1, "x[REDACTED]y"], "[REDACTED]": "as a key"}
    assert entry["raw"] == "[REDACTED]"
    assert entry["holder"] == {"key": "[REDACTED]"}
    assert entry["opaque"] == "opaque([REDACTED])"
    assert entry["api_key"] == "[REDACTED]"


def test_secret_in_an_exception_is_redacted(cap):
    secret = new_secret()
    try:
        raise PermissionError(f"key {secret} refused")
    except PermissionError:
        cap.logger.exception("call failed")
    assert_absent(cap.text, secret)
    assert "PermissionError: key [REDACTED] refused" in cap.one()["stack_trace"]


def test_secret_with_regex_and_json_metacharacters(cap):
    secret = new_secret(extra='.*+?"\\(é')
    cap.logger.info("value=%s", secret)
    assert_absent(cap.text, secret)
    assert cap.one()["message"] == "value=[REDACTED]"


def test_stored_secret_with_trailing_newline_is_redacted_stripped_too(cap):
    bare = f"sk-nl-{uuid.uuid4().hex}"
    log.register_secret(bare + "\n")
    cap.logger.info("using %s", bare)
    assert cap.one()["message"] == "using [REDACTED]"


def test_longest_secret_wins(cap):
    short = new_secret()
    longer = short + "-and-more"
    log.register_secret(longer)
    cap.logger.info(longer)
    assert cap.one()["message"] == "[REDACTED]"


def test_secret_registered_after_setup_is_still_redacted(cap):
    cap.logger.info("nothing secret")
    secret = f"sk-late-{uuid.uuid4().hex}"
    cap.logger.info("before %s", secret)
    log.register_secret(secret)
    cap.logger.info("after %s", secret)
    assert cap.lines()[2]["message"] == "after [REDACTED]"


def test_empty_values_are_ignored():
    log.register_secret("")
    log.register_secret(None)
    assert log.redact("some text") == "some text"


def test_filter_protects_a_plain_text_handler_too():
    secret = new_secret()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(message)s %(field)s"))
    handler.addFilter(log.RedactionFilter())
    logger = logging.getLogger(f"plain.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise KeyError(secret)
    except KeyError:
        logger.error("got %s", secret, exc_info=True, extra={"field": secret})
    assert_absent(buffer.getvalue(), secret)
    assert buffer.getvalue().startswith("got [REDACTED] [REDACTED]\nTraceback")


def test_the_formatter_redacts_on_its_own(cap):
    # The last line of defence: a handler someone set up without the filter.
    secret = new_secret()
    cap.handler.filters.clear()
    try:
        raise KeyError(secret)
    except KeyError:
        with log.log_context(key=secret):
            cap.logger.exception("got %s", secret, extra={"field": [secret]})
    assert_absent(cap.text, secret)
    entry = cap.one()
    assert (entry["message"], entry["field"], entry["key"]) == (
        "got [REDACTED]",
        ["[REDACTED]"],
        "[REDACTED]",
    )
    assert "KeyError: '[REDACTED]'" in entry["stack_trace"]


def test_filter_survives_a_bad_format_string(cap):
    secret = new_secret()
    cap.logger.info("two %s %s", secret)  # one argument short
    assert_absent(cap.text, secret)
    assert "two %s %s" in cap.one()["message"]


# ---------------------------------------------------------------------------- setup


@pytest.fixture
def root_restored():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    filters = {h: list(h.filters) for h in handlers}
    yield root
    for h in root.handlers:
        if h not in handlers:
            root.removeHandler(h)
    for h, fs in filters.items():
        h.filters[:] = fs
    root.setLevel(level)


def test_configure_logging_is_idempotent(root_restored, monkeypatch):
    monkeypatch.delenv("CLOUDSWARM_LOG_LEVEL", raising=False)
    first, second = io.StringIO(), io.StringIO()
    h1 = log.configure_logging(stream=first, project="p1")
    h2 = log.configure_logging("DEBUG", stream=second, project="p1")
    assert h1 is h2
    ours = [h for h in root_restored.handlers if getattr(h, "_cloudswarm", False)]
    assert ours == [h1]
    assert root_restored.level == logging.DEBUG
    assert sum(isinstance(f, log.RedactionFilter) for f in h1.filters) == 1
    logging.getLogger("cloudswarm.anything").debug("once")
    assert first.getvalue() == ""
    lines = second.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["message"] == "once"


def test_configure_logging_guards_existing_handlers(root_restored):
    other = logging.StreamHandler(io.StringIO())
    root_restored.addHandler(other)
    log.configure_logging(stream=io.StringIO())
    assert any(isinstance(f, log.RedactionFilter) for f in other.filters)


def test_level_from_env_and_bad_level(root_restored, monkeypatch):
    monkeypatch.setenv("CLOUDSWARM_LOG_LEVEL", "warning")
    log.configure_logging(stream=io.StringIO())
    assert root_restored.level == logging.WARNING
    monkeypatch.setenv("CLOUDSWARM_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="set CLOUDSWARM_LOG_LEVEL to one of DEBUG"):
        log.configure_logging(stream=io.StringIO())
