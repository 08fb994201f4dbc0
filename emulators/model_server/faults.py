"""Injected faults: error statuses, latency, slow and stalled streams, mid-stream errors.

Random faults come from one seeded RNG so a chaos run can be repeated; ``next`` queues exact faults
for the next requests, which is what a deterministic test wants.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields

from .errors import ApiError

# The faults ``next`` may queue, besides plain statuses.
KINDS = ("429", "529", "500", "stream_error", "stall")

_MESSAGES = {
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    529: ("overloaded_error", "Overloaded"),
    500: ("api_error", "Internal server error"),
}


@dataclass
class FaultConfig:
    seed: int = 0
    rate_429: float = 0.0
    rate_529: float = 0.0
    rate_500: float = 0.0
    rate_stream_error: float = 0.0  # an overloaded_error event after the stream has started
    retry_after_s: float = 1.0
    slow_stream_delay_s: float = 0.0  # pause between stream events
    latency_s: float = 0.0  # before answering at all
    stall_s: float = 0.0  # silence mid-stream (or before a non-streaming body)
    rate_stall: float = 1.0  # share of answers that stall, when stall_s > 0
    agents: list[str] = field(default_factory=list)  # only these agents' requests; empty = all
    next: list[str] = field(default_factory=list)  # queued faults, consumed one per request

    @classmethod
    def from_json(cls, data: dict) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        config = cls(**data)
        config.next = [str(k) for k in config.next]
        bad = [k for k in config.next if k not in KINDS]
        if bad:
            raise ValueError(f"unknown queued faults {bad}; use {list(KINDS)}")
        for name in ("rate_429", "rate_529", "rate_500", "rate_stream_error", "rate_stall"):
            if not 0.0 <= float(getattr(config, name)) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        return config

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """What the faults decided for one request."""

    error: ApiError | None = None
    stream_error: bool = False
    stall_s: float = 0.0
    latency_s: float = 0.0
    event_delay_s: float = 0.0
    label: str = ""  # for the request log


class Faults:
    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)

    def plan(self, agent: str | None) -> Plan:
        with self._lock:
            c = self.config
            if c.agents and agent not in c.agents:
                return Plan()
            queued = c.next.pop(0) if c.next else None
            roll = self._rng.random()
            stream_roll = self._rng.random()
            stall_roll = self._rng.random()
        status = None
        if queued in ("429", "529", "500"):
            status = int(queued)
        elif queued is None:
            edge = 0.0
            for code, rate in ((429, c.rate_429), (529, c.rate_529), (500, c.rate_500)):
                edge += rate
                if roll < edge:
                    status = code
                    break
        common = {"latency_s": c.latency_s, "event_delay_s": c.slow_stream_delay_s}
        if status is not None:
            return Plan(error=self._error(status, c), label=str(status), **common)
        stream_error = queued == "stream_error" or (
            queued is None and stream_roll < c.rate_stream_error
        )
        stall = c.stall_s if queued == "stall" or (c.stall_s and stall_roll < c.rate_stall) else 0
        label = ",".join(x for x in ("stream_error" * stream_error, "stall" * bool(stall)) if x)
        return Plan(stream_error=stream_error, stall_s=stall or 0.0, label=label, **common)

    @staticmethod
    def _error(status: int, c: FaultConfig) -> ApiError:
        error_type, message = _MESSAGES[status]
        headers = {"x-should-retry": "true"}
        if status == 429:
            secs = c.retry_after_s
            headers["retry-after"] = str(int(secs)) if float(secs).is_integer() else f"{secs:g}"
        return ApiError(error_type, message, status, headers)
