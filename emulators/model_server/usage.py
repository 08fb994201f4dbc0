"""Token counting and prompt-cache accounting, close enough to the real API to measure caching.

Tokens are approximated as one per 4 characters of each block's compact JSON: deterministic, and
proportional to what the real tokenizer reports, which is all a benchmark of ratios needs.

The prompt is the canonical block sequence tools → system → messages. A ``cache_control`` on a block
is a breakpoint: the prefix ending there is written to the cache (if at least ``min_tokens`` long)
and later requests whose prefix hashes the same read it. Like the real API, a breakpoint also finds
entries up to ``LOOKBACK`` blocks before it, so a conversation that grows under one moving
breakpoint still reads the prefix its previous call wrote.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

LOOKBACK = 20
TTL_S = {"5m": 300.0, "1h": 3600.0}
_MAX_ENTRIES = 200_000


def compact(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tokens_of(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def as_blocks(content) -> list:
    """A string content is shorthand for one text block; count and hash both forms the same."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content) if isinstance(content, list) else []


def _strip(block):
    if isinstance(block, dict) and "cache_control" in block:
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


@dataclass(frozen=True)
class Block:
    kind: str  # "tool", "system", "user", "assistant"
    body: object
    cache_ttl: str | None  # the breakpoint's ttl, None when the block is not a breakpoint


def canonical_blocks(body: dict) -> list[Block]:
    out: list[Block] = []

    def add(kind, block):
        cc = block.get("cache_control") if isinstance(block, dict) else None
        ttl = (cc.get("ttl") or "5m") if isinstance(cc, dict) else None
        out.append(Block(kind, _strip(block), ttl))

    for tool in body.get("tools") or []:
        add("tool", tool)
    for block in as_blocks(body.get("system")):
        add("system", block)
    for message in body.get("messages") or []:
        for block in as_blocks(message.get("content")):
            add(message.get("role", "?"), block)
    top = body.get("cache_control")
    if isinstance(top, dict) and out and out[-1].cache_ttl is None:
        # Top-level cache_control marks the last block, as the real API does.
        last = out[-1]
        out[-1] = Block(last.kind, last.body, top.get("ttl") or "5m")
    return out


def count_input_tokens(body: dict) -> int:
    return sum(tokens_of(compact([b.kind, b.body])) for b in canonical_blocks(body))


def count_output_tokens(content: list[dict]) -> int:
    total = 0
    for block in content:
        if block.get("type") == "text":
            total += tokens_of(block.get("text", ""))
        else:
            total += tokens_of(block.get("name", "") + compact(block.get("input", {})))
    return max(1, total)


@dataclass(frozen=True)
class InputUsage:
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    cache_creation_1h: int = 0

    def as_usage(self, output_tokens: int) -> dict:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_input_tokens
                - self.cache_creation_1h,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }


class PromptCache:
    """Per-model prefix cache. Thread-safe; ``clock`` is injectable so tests can expire entries."""

    def __init__(self, min_tokens: int = 1024, clock: Callable[[], float] = time.monotonic):
        self.min_tokens = min_tokens
        self.min_tokens_by_model: dict[str, int] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, float]] = {}  # → (expires, ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _min_for(self, model: str) -> int:
        return self.min_tokens_by_model.get(model, self.min_tokens)

    def account(self, model: str, body: dict) -> InputUsage:
        blocks = canonical_blocks(body)
        cum: list[int] = []
        hashes: list[str] = []
        running, digest = 0, hashlib.sha256(model.encode())
        for block in blocks:
            text = compact([block.kind, block.body])
            running += tokens_of(text)
            digest.update(text.encode())
            cum.append(running)
            hashes.append(digest.copy().hexdigest())
        total = running
        breakpoints = [i for i, b in enumerate(blocks) if b.cache_ttl]
        if not breakpoints:
            return InputUsage(total, 0, 0)
        minimum = self._min_for(model)
        with self._lock:
            now = self._clock()
            hit = -1
            for bp in breakpoints:
                for pos in range(bp, max(-1, bp - LOOKBACK), -1):
                    if pos <= hit:
                        break
                    entry = self._entries.get((model, hashes[pos]))
                    if entry and entry[0] > now:
                        hit = pos
                        break
            read = cum[hit] if hit >= 0 else 0
            if hit >= 0:  # a hit refreshes the entry's lifetime
                ttl = self._entries[(model, hashes[hit])][1]
                self._entries[(model, hashes[hit])] = (now + ttl, ttl)
            write = write_1h = 0
            prev = read
            for bp in breakpoints:
                if bp <= hit or cum[bp] < minimum:
                    continue
                ttl_name = blocks[bp].cache_ttl or "5m"
                segment = cum[bp] - prev
                write += segment
                if ttl_name == "1h":
                    write_1h += segment
                prev = cum[bp]
                ttl = TTL_S.get(ttl_name, TTL_S["5m"])
                self._entries[(model, hashes[bp])] = (now + ttl, ttl)
            if len(self._entries) > _MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        return InputUsage(total - read - write, read, write, write_1h)
