"""The CLI's HTTP client against a real local HTTP server that fails on cue: idempotent GETs
ride out dropped connections, 5xx and 429 with backoff, bounded; a POST that reached the server
is never sent twice; an error text from the server is shown as text."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cloudswarm.cli.client import RETRY, Client, CliError
from cloudswarm.cli.config import Target
from tests import hostile

# In the caller's port range (CLOUDSWARM_TEST_PORT_OFFSET), beside no service of the stack.
PORT = 8070 + int(os.environ.get("CLOUDSWARM_TEST_PORT_OFFSET") or 10000)
KEY = "csk_abc123_" + "s" * 43
FUTURE = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
CLI = str(Path(sys.executable).parent / "cloudswarm")


class Flaky(ThreadingHTTPServer):
    """Answers each request with the next step of ``script`` (then 200): an HTTP status,
    "drop" (read the request, close without a word) or a (status, body) pair."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", PORT), Handler)
        self.script: list = []
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def next_step(self, method: str, path: str):
        with self.lock:
            self.seen.append((method, path))
            return self.script.pop(0) if self.script else 200


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet: pytest shows failures, not access logs
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        step = self.server.next_step(self.command, self.path)
        if step == "drop":
            self.close_connection = True
            return
        status, body = step if isinstance(step, tuple) else (step, None)
        if body is None:
            body = {"ok": True} if status < 400 else {"error": {"code": "busy", "message": "x"}}
        if self.path == "/api/auth/token" and status == 200:
            body = {"token": "t", "expires_at": FUTURE, "key_id": "abc123", "role": "admin"}
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_DELETE = _answer


@pytest.fixture(scope="module")
def server() -> Iterator[Flaky]:
    s = Flaky()
    thread = threading.Thread(target=s.serve_forever, daemon=True)
    thread.start()
    yield s
    s.shutdown()
    s.server_close()
    thread.join()


@pytest.fixture
def flaky(server) -> Flaky:
    server.script.clear()
    server.seen.clear()
    return server


@pytest.fixture
def client(tmp_path, monkeypatch) -> Client:
    monkeypatch.setenv("CLOUDSWARM_CONFIG", str(tmp_path / "config.json"))
    token = {"url": f"http://127.0.0.1:{PORT}", "value": "t", "expires_at": FUTURE,
             "key_id": "abc123"}  # fmt: skip
    return Client(Target(f"http://127.0.0.1:{PORT}", KEY), {"token": token}, timeout=10)


def test_a_get_rides_out_dropped_connections_and_5xx(flaky, client):
    flaky.script[:] = ["drop", 503, "drop", 502]
    assert client.get("/api/swarms") == {"ok": True}
    assert flaky.seen == [("GET", "/api/swarms")] * 5


def test_a_get_waits_as_a_429_asks(flaky, client):
    flaky.script[:] = [429]
    assert client.get("/api/swarms/s-1/events") == {"ok": True}
    assert len(flaky.seen) == 2


def test_get_retries_are_bounded_and_end_with_the_apis_message(flaky, client):
    flaky.script[:] = [(503, {"error": {"code": "unavailable", "message": "busy"}})] * 10
    with pytest.raises(CliError, match=r"busy \(unavailable, HTTP 503\)"):
        client.get("/api/swarms")
    assert len(flaky.seen) == 1 + RETRY.status


@pytest.mark.parametrize("failure", [503, 429, "drop"])
def test_a_post_that_reached_the_api_is_never_sent_again(flaky, client, failure):
    flaky.script[:] = [failure]
    with pytest.raises(CliError) as raised:
        client.post("/api/swarms/s-1/agents/lead/messages", {"body": "hi"})
    assert flaky.seen == [("POST", "/api/swarms/s-1/agents/lead/messages")]
    if failure == "drop":
        assert "may have been applied" in str(raised.value)


def test_nothing_listening_is_one_clear_error(client, monkeypatch):
    # A port of the caller's range that nobody binds (the server above is PORT).
    gone = Client(Target(f"http://127.0.0.1:{PORT + 1}", KEY), dict(client.data), timeout=2)
    with pytest.raises(CliError, match="cannot reach the API"):
        gone.get("/api/swarms")


def test_an_error_text_from_the_server_is_shown_as_text(flaky, tmp_path):
    flaky.script[:] = [200, (404, {"error": {"code": hostile.OSC_TITLE + "[/]",
                                             "message": hostile.WITH_NUL}})]  # fmt: skip
    env = {**os.environ, "CLOUDSWARM_CONFIG": str(tmp_path / "c.json"),
           "CLOUDSWARM_API_URL": f"http://127.0.0.1:{PORT}", "CLOUDSWARM_API_KEY": KEY,
           "COLUMNS": "400"}  # fmt: skip
    result = subprocess.run([CLI, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    assert [m for m, _ in flaky.seen] == ["POST", "GET"]
    for piece in [hostile.GOAL, *hostile.PIECES, "HTTP 404"]:
        assert piece in result.stderr, (piece, result.stderr)
    for bad in hostile.FORBIDDEN:
        assert bad not in result.stderr + result.stdout, (bad, result.stderr)


def test_an_answer_that_is_not_json_is_one_clear_error(flaky, client):
    flaky.script[:] = [(200, b"<html>a proxy's login page</html>")]
    with pytest.raises(CliError, match="not the API's JSON"):
        client.get("/api/swarms")
    flaky.script[:] = [(200, b'{"n": 1}\n{"n": 2\n')]
    lines = client.lines("/api/swarms/s-1/agents/lead/transcript")
    assert next(lines) == {"n": 1}
    with pytest.raises(CliError, match="not the API's JSON"):
        next(lines)
