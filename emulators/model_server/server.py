"""The HTTP side: ``/v1/messages`` (JSON and SSE), ``/v1/messages/count_tokens``, ``/_control/*``,
and the same Messages API by Vertex AI's paths (``:rawPredict``, ``:streamRawPredict``).

Stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive and chunked SSE, like the real API,
so the SDK's connection pool and stream parser are exercised as they are in production.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import scenario as scenarios
from .context import edits_of
from .conversation import view_of
from .errors import ApiError, GoogleError, as_vertex, error_body, invalid, new_id
from .faults import FaultConfig, Faults, Plan
from .journal import Entry, Journal, fingerprint
from .reply import managed_message, stream_events
from .server_tools import Containers, is_server_tool
from .usage import PromptCache, count_input_tokens
from .validate import validate

log = logging.getLogger(__name__)
SERVICE = "cloudswarm-model-server"


_BAD_JSON = object()

# Claude on Vertex AI: the model is in the path, the Messages API body follows without it, and
# ``anthropic_version`` moves from a header into the body. Its value is not checked: Vertex's
# documented "vertex-2023-10-16" and the SDK's own API version (what the pinned SDK sends) both
# reach the model.
VERTEX_PATH = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)"
    r"/publishers/anthropic/models/(?P<model>[^/:]+):(?P<method>rawPredict|streamRawPredict)$"
)
VERTEX_COUNT_TOKENS = "count-tokens"  # the path's "model" for counting tokens
_NO_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)


@dataclass(frozen=True)
class Vertex:
    """What a Vertex AI path says: project, location, model and method."""

    project: str
    region: str
    model: str
    method: str


class _HungUp(Exception):
    """The client closed the connection before the answer was complete."""


class _Stopping(Exception):
    """The server is shutting down; end the answer without blaming the client."""


class ModelServer:
    """The server and its state. ``start()`` serves from a thread; ``serve_forever()`` blocks."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        scenario: str = "demo",
        faults: FaultConfig | None = None,
        min_cache_tokens: int = 1024,
        log_path: str | None = None,
    ):
        self.scenario = scenarios.load(scenario)
        self.faults = Faults(faults)
        self.cache = PromptCache(min_cache_tokens)
        self.containers = Containers()
        self.journal = Journal(log_path)
        self.started_at = time.time()
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ModelServer:
        self._serving = True
        # A short poll interval keeps stop() quick: shutdown() waits for the loop to look.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.1,), name=SERVICE, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def stop(self) -> None:
        self.stopping.set()
        if self._serving:  # shutdown() waits for a serve_forever loop, so only when one runs
            self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        self.faults.configure(FaultConfig())
        self.journal.reset()
        self.cache.clear()


def _wire(vertex: Vertex | None) -> str:
    return "vertex" if vertex else "anthropic"


def _request_id(vertex: Vertex | None) -> str:
    return new_id("req_vrtx_" if vertex else "req_")  # Vertex AI's request ids look like this


def _compact_size(request: dict) -> int:
    return len(json.dumps(request, separators=(",", ":")).encode())


def _agent_of(body) -> tuple[str | None, str | None]:
    """The agent and the swarm a request is for, from its latest ``<turn>`` block."""
    try:
        turn = view_of(body).turn or {}
        agent = turn.get("agent")
        if agent is None:
            agent = (body.get("metadata") or {}).get("user_id")
        swarm = turn.get("swarm")
        return (
            str(agent) if agent is not None else None,
            str(swarm) if swarm is not None else None,
        )
    except Exception:  # the request may be malformed in any way; the log is best effort
        return None, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVICE
    timeout = 120  # idle keep-alive connections do not hold a thread forever

    @property
    def app(self) -> ModelServer:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format, *args):
        log.debug("%s " + format, self.address_string(), *args)

    # --- plumbing -------------------------------------------------------------------------

    def _read_json(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return _BAD_JSON

    def _send_json(self, status: int, payload, headers=None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _client_gone(self) -> bool:
        # select first: with a socket timeout set, Python waits for data even on MSG_DONTWAIT.
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _wait(self, seconds: float) -> None:
        """Sleep, but notice at once when the client hangs up (a readable socket at EOF)."""
        deadline = time.monotonic() + seconds
        while True:
            if self._client_gone():
                raise _HungUp
            if self.app.stopping.is_set():
                raise _Stopping
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.2))
            if readable and not self._client_gone():
                time.sleep(min(remaining, 0.05))  # pipelined bytes, not a hang-up: do not spin

    def _write_chunk(self, data: bytes) -> None:
        if self._client_gone():
            raise _HungUp
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    # --- routing --------------------------------------------------------------------------

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        app = self.app
        if url.path in ("/", "/_control/health"):
            self._send_json(200, self._health())
        elif url.path == "/_control/requests":
            since = int(query.get("since", 0))
            items = app.journal.requests(since, query.get("agent"), int(query.get("limit", 1000)))
            self._send_json(
                200, {"requests": items, "last_seq": items[-1]["seq"] if items else since}
            )
        elif url.path == "/_control/stats":
            stats = {**app.journal.stats(), "containers_created": app.containers.created}
            self._send_json(200, {**stats, "scenario": app.scenario.name})
        elif url.path == "/_control/faults":
            self._send_json(200, {"faults": app.faults.config.to_json()})
        elif url.path == "/_control/scenario":
            self._send_json(
                200, {"scenario": app.scenario.name, "available": scenarios.available()}
            )
        else:
            self._send_json(404, error_body("not_found_error", f"Not found: {url.path}"))

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/v1/messages":
            return self._messages()
        if path == "/v1/messages/count_tokens":
            return self._count_tokens()
        if found := VERTEX_PATH.match(path):
            vertex = Vertex(**{k: unquote(v) for k, v in found.groupdict().items()})
            if vertex.model == VERTEX_COUNT_TOKENS and vertex.method == "rawPredict":
                return self._count_tokens(vertex)
            return self._messages(vertex)
        body = self._read_json()
        try:
            result = self._control(path, {} if body is None or body is _BAD_JSON else body)
        except (ValueError, TypeError) as e:
            return self._send_json(400, {"error": str(e)})
        if result is None:
            return self._send_json(404, error_body("not_found_error", f"Not found: {path}"))
        self._send_json(200, result)

    def _health(self) -> dict:
        app = self.app
        return {
            "ok": True,
            "service": SERVICE,
            "scenario": app.scenario.name,
            "started_at": app.started_at,
            "min_cache_tokens": app.cache.min_tokens,
        }

    def _control(self, path: str, body) -> dict | None:
        app = self.app
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        if path == "/_control/faults":
            app.faults.configure(FaultConfig.from_json(body))
            return {"faults": app.faults.config.to_json()}
        if path == "/_control/reset":
            app.reset()
            return {"ok": True}
        if path == "/_control/scenario":
            app.scenario = scenarios.load(str(body.get("name", "")))
            return {"scenario": app.scenario.name}
        if path == "/_control/cache":
            if "min_tokens" in body:
                app.cache.min_tokens = int(body["min_tokens"])
            if "min_tokens_by_model" in body:
                app.cache.min_tokens_by_model = {
                    str(k): int(v) for k, v in dict(body["min_tokens_by_model"]).items()
                }
            if body.get("clear"):
                app.cache.clear()
            return {"min_tokens": app.cache.min_tokens, "by_model": app.cache.min_tokens_by_model}
        return None

    # --- the Messages API ------------------------------------------------------------------

    def _auth(self, entry: Entry) -> None:
        key = self.headers.get("x-api-key")
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        bearer = scheme.lower() == "bearer" and bool(token.strip())
        entry.auth = [name for name, sent in (("x-api-key", key), ("bearer", bearer)) if sent]
        sent = key or (token.strip() if bearer else "")
        entry.credential = fingerprint(sent) if sent else None

    def _checked_body(self, entry: Entry, vertex: Vertex | None = None):
        """(the body as sent, for the log; the Messages API request it stands for)."""
        body = self._read_json()
        self._auth(entry)
        if vertex is not None:
            return body, self._vertex_body(entry, body, vertex)
        if not entry.auth:
            raise ApiError("authentication_error", "x-api-key header is required")
        if not self.headers.get("anthropic-version"):
            raise invalid("anthropic-version: header is required")
        if body is _BAD_JSON:
            raise invalid("There was an error parsing the body of your request as JSON")
        if isinstance(body, dict):
            entry.model = body.get("model") if isinstance(body.get("model"), str) else None
            entry.stream = body.get("stream") is True
            entry.agent, entry.swarm = _agent_of(body)
            entry.request_bytes = _compact_size(body)
        return body, body

    def _vertex_body(self, entry: Entry, body, vertex: Vertex):
        # Vertex AI takes only Google credentials: an API key does not count.
        if "bearer" not in entry.auth:
            raise GoogleError(401, _NO_CREDENTIAL)
        if body is _BAD_JSON:
            raise invalid("There was an error parsing the body of your request as JSON")
        if not isinstance(body, dict):
            return body  # validate() refuses it with the Messages API's message
        if "anthropic_version" not in body:
            raise invalid("anthropic_version: Field required")
        if not isinstance(body["anthropic_version"], str) or not body["anthropic_version"]:
            raise invalid("anthropic_version: Input should be a valid string")
        request = {k: v for k, v in body.items() if k != "anthropic_version"}
        if vertex.model != VERTEX_COUNT_TOKENS:
            # The path names the model; a model in the body (which the SDK never sends) is
            # overruled by it rather than refused, as no source checked here says Vertex refuses.
            request["model"] = vertex.model
        entry.model = request.get("model") if isinstance(request.get("model"), str) else None
        entry.stream = request.get("stream") is True
        entry.agent, entry.swarm = _agent_of(request)
        entry.request_bytes = _compact_size(request)
        return request

    def _count_tokens(self, vertex: Vertex | None = None) -> None:
        path = urlsplit(self.path).path if vertex else "/v1/messages/count_tokens"
        entry = self.app.journal.start(_request_id(vertex), path, _wire(vertex))
        raw = response = None
        try:
            raw, body = self._checked_body(entry, vertex)
            if isinstance(body, dict) and "max_tokens" not in body:
                validate({**body, "max_tokens": 1}, vertex=vertex is not None)
            else:
                raise invalid("max_tokens: Extra inputs are not permitted")
            response = {"input_tokens": count_input_tokens(body)}
            entry.status = 200
            self._send_json(200, response, {"request-id": entry.request_id})
        except ApiError as e:
            response = self._send_error(entry, e)
        except OSError:
            self._hung_up(entry)
        except Exception:
            response = self._crashed(entry, headers_sent=entry.status == 200)
        finally:
            self.app.journal.finish(entry, raw, response)

    def _send_error(self, entry: Entry, e: ApiError) -> dict:
        entry.status = e.status
        entry.error = e.body()["error"]
        try:
            self._send_json(e.status, e.body(), {"request-id": entry.request_id, **e.headers})
        except OSError:
            self._hung_up(entry)
        return e.body()

    def _hung_up(self, entry: Entry) -> None:
        entry.closed_by_client_at = time.time()
        entry.status = entry.status or 499  # nginx's "client closed request"
        self.close_connection = True

    def _crashed(self, entry: Entry, headers_sent: bool) -> dict | None:
        """A bug in the emulator: answer like the real API's 500 rather than drop the line."""
        log.exception("request %s failed inside the model server", entry.request_id)
        if headers_sent:
            self.close_connection = True
            return None
        return self._send_error(entry, ApiError("api_error", "Internal server error (emulator)"))

    def _messages(self, vertex: Vertex | None = None) -> None:
        app = self.app
        path = urlsplit(self.path).path if vertex else "/v1/messages"
        entry = app.journal.start(_request_id(vertex), path, _wire(vertex))
        raw = response = None
        try:
            raw, body = self._checked_body(entry, vertex)
            plan = app.faults.plan(entry.agent)
            entry.fault = plan.label
            if plan.latency_s:
                self._wait(plan.latency_s)
            if plan.error is not None:
                raise as_vertex(plan.error, entry.model or "") if vertex else plan.error
            validate(body, vertex=vertex is not None)
            if vertex is not None and "context_management" in body:
                raise invalid("context_management: not supported on Vertex AI")
            edits = edits_of(body, self.headers.get("anthropic-beta"), body["model"])
            message, decision, note = managed_message(
                body, edits, app.scenario, app.cache, app.containers
            )
            response = message
            entry.rule = decision.rule + (f" ({note})" if note else "")
            entry.message_id = message["id"]
            entry.stop_reason = message["stop_reason"]
            entry.tool_uses = [b["name"] for b in message["content"] if b["type"] == "tool_use"]
            entry.server_tools = [t["type"] for t in body.get("tools") or [] if is_server_tool(t)]
            entry.server_tool_uses = [
                b["name"] for b in message["content"] if b["type"] == "server_tool_use"
            ]
            entry.usage = message["usage"]
            if body.get("stream"):
                entry.status = 200
                self._stream(message, plan, decision.pace_s, entry)
            else:
                # A slow scenario is slow without streaming too: the model takes as long to write.
                pause = plan.stall_s + decision.pace_s * sum(1 for _ in stream_events(message))
                if pause:
                    self._wait(pause)
                entry.status = 200
                self._send_json(200, message, {"request-id": entry.request_id})
        except ApiError as e:
            response = self._send_error(entry, e)
        except (_HungUp, OSError):
            self._hung_up(entry)
        except _Stopping:
            self.close_connection = True
        except Exception:
            response = self._crashed(entry, headers_sent=entry.status == 200)
        finally:
            app.journal.finish(entry, raw, response)

    def _stream(self, message: dict, plan: Plan, pace_s: float, entry: Entry) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", entry.request_id)
        self.end_headers()
        delay = max(plan.event_delay_s, pace_s)
        stalled = False
        self.app.journal.stream_opened()
        try:
            for event, data in stream_events(message):
                if entry.events_sent and delay:
                    self._wait(delay)
                if plan.stream_error and event == "content_block_delta":
                    error = error_body("overloaded_error", "Overloaded")
                    self._write_chunk(f"event: error\ndata: {json.dumps(error)}\n\n".encode())
                    entry.fault = "stream_error"
                    break
                self._write_chunk(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
                entry.events_sent += 1
                if plan.stall_s and not stalled and event == "content_block_delta":
                    stalled = True
                    self._wait(plan.stall_s)
            self.wfile.write(b"0\r\n\r\n")
        finally:
            self.app.journal.stream_closed()
