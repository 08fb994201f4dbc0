"""The request log behind ``/_control/requests`` and ``/_control/stats``, and the ``--log`` file."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

MAX_ENTRIES = 20_000


@dataclass
class Entry:
    seq: int
    request_id: str
    time: float  # epoch seconds the request arrived
    path: str
    wire: str = "anthropic"  # or "vertex": which API's paths the request came by
    auth: list[str] = field(default_factory=list)  # the schemes sent: "x-api-key", "bearer"
    credential: str | None = None  # fingerprint() of the key or token sent, never the value
    model: str | None = None
    agent: str | None = None
    swarm: str | None = None  # from the request's <turn> block, like the agent
    stream: bool = False
    status: int = 0
    error: dict | None = None
    fault: str = ""
    rule: str = ""  # the scenario rule that answered
    message_id: str | None = None
    stop_reason: str | None = None
    tool_uses: list[str] = field(default_factory=list)
    # The server tools the request defined (types), and the ones the answer ran.
    server_tools: list[str] = field(default_factory=list)
    server_tool_uses: list[str] = field(default_factory=list)
    usage: dict | None = None
    # The request as compact JSON, in bytes: the size the platform's worst case is computed from.
    request_bytes: int = 0
    done_at: float | None = None
    closed_by_client_at: float | None = None  # the client hung up before the answer was complete
    events_sent: int = 0


def fingerprint(credential: str) -> str:
    """A short one-way digest of a key or token: tells which credential a client sent (an API
    key or a Vertex access token: the SDK sends both as a bearer token) without logging it."""
    return hashlib.sha256(credential.encode()).hexdigest()[:12]


class Journal:
    def __init__(self, log_path: str | Path | None = None):
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=MAX_ENTRIES)
        self._seq = 0
        self._open_streams = 0
        self._totals: Counter = Counter()
        self._log_path = Path(log_path) if log_path else None

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._totals.clear()

    def start(self, request_id: str, path: str, wire: str = "anthropic") -> Entry:
        with self._lock:
            self._seq += 1
            entry = Entry(self._seq, request_id, time.time(), path, wire)
            self._entries.append(entry)
            return entry

    def stream_opened(self) -> None:
        with self._lock:
            self._open_streams += 1

    def stream_closed(self) -> None:
        with self._lock:
            self._open_streams -= 1

    def finish(self, entry: Entry, request: object = None, response: object = None) -> None:
        with self._lock:
            entry.done_at = time.time()
            t = self._totals
            t["requests"] += 1
            t[f"status_{entry.status}"] += 1
            t["streams"] += entry.stream
            t["closed_by_client"] += entry.closed_by_client_at is not None
            for key, value in (entry.usage or {}).items():
                if isinstance(value, int):
                    t[key] += value
                elif key == "server_tool_use" and isinstance(value, dict):
                    for k, v in value.items():
                        t[k] += v
            line = None
            if self._log_path is not None:
                record = {"entry": asdict(entry), "request": request, "response": response}
                line = json.dumps(record, ensure_ascii=False, default=str)
            # Writes stay under the lock so concurrent requests never interleave within a line.
            if line is not None:
                with self._log_path.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")

    def requests(self, since: int = 0, agent: str | None = None, limit: int = 1000) -> list[dict]:
        with self._lock:
            picked = [
                asdict(e)
                for e in self._entries
                if e.seq > since and (agent is None or e.agent == agent)
            ]
        return picked[-limit:] if limit else picked

    def stats(self) -> dict:
        with self._lock:
            t = dict(self._totals)
            open_streams = self._open_streams
            in_flight = sum(1 for e in self._entries if e.done_at is None)
        read = t.get("cache_read_input_tokens", 0)
        write = t.get("cache_creation_input_tokens", 0)
        fresh = t.get("input_tokens", 0)
        prompt = read + write + fresh
        by_status = {k[len("status_") :]: v for k, v in t.items() if k.startswith("status_")}
        return {
            "requests": t.get("requests", 0),
            "by_status": by_status,
            "streams": t.get("streams", 0),
            "closed_by_client": t.get("closed_by_client", 0),
            "open_streams": open_streams,
            "in_flight": in_flight,
            "tokens": {
                "input_tokens": fresh,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "output_tokens": t.get("output_tokens", 0),
            },
            "cache_read_share": round(read / prompt, 4) if prompt else 0.0,
            "server_tool_use": {
                "web_search_requests": t.get("web_search_requests", 0),
                "web_fetch_requests": t.get("web_fetch_requests", 0),
            },
        }
