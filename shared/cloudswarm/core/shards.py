"""Capped pools spread over shard documents, so that no document takes every grant.

Firestore sustains about one write per second on a document. A pool that many agents draw from
(a swarm's budget, the global daily USD cap) is therefore split over ``n`` shard documents, each
holding ``cap / n``. A draw starts at the shard its key hashes to and moves on to the next ones
only while it is still short, so agents spread over the shards and a draw normally reads and
writes one shard. It stays fail-closed: no shard grants past its share, so the shards together
never grant past the cap (amounts given back may leave one shard below zero and another full;
the sum is still exact).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping

SWARM_SHARDS = 16  # a swarm's budget: shards of swarms/{sid}/budget/{i}
DAY_SHARDS = 64  # the global daily USD cap: shards of budget_days/{day}/shards/{i}
EPSILON = 1e-12  # float slack, so an amount that exactly fills a shard is not refused


def start(key: str, n: int) -> int:
    """The shard a key draws from first: a stable hash, the same in every process."""
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") % n


def order(key: str, n: int) -> Iterator[int]:
    """Every shard once, starting at the key's own."""
    first = start(key, n)
    return ((first + k) % n for k in range(n))


def draw(
    want: Mapping[str, float],
    need: Mapping[str, float],
    shards: Iterable[tuple[int, Mapping[str, float]]],
) -> tuple[dict[int, dict[str, float]], dict[str, float]]:
    """Take ``want`` on each axis from shards in order, each giving at most what it has free.

    ``shards`` yields (shard, free amount per axis) and is consumed only while something is
    still short, so a lazy iterable reads no more shards than the draw needs. Returns what each
    shard gives and, per axis, the total taken; an axis whose total is below ``need`` means the
    pool cannot cover the call (the caller refuses, and writes nothing).
    """
    left = {a: v for a, v in want.items() if v > 0}
    taken: dict[int, dict[str, float]] = {}
    if not any(v > EPSILON for v in left.values()):
        return taken, {a: 0.0 for a in want if want[a] > 0}
    for shard, free in shards:
        for axis, short in left.items():
            give = min(short, max(0.0, free.get(axis, 0.0)))
            if give > EPSILON:
                taken.setdefault(shard, {})[axis] = give
                left[axis] = short - give
        if not any(v > EPSILON for v in left.values()):
            break  # covered: the next shard is not read
    totals = {a: want[a] - left.get(a, 0.0) for a in want if want[a] > 0}
    return taken, totals


def trim(taken: dict[int, dict[str, float]], axis: str, keep: float) -> None:
    """Give back what ``taken`` holds on ``axis`` beyond ``keep``, from its last shards first
    (a draw on another pool came up with less)."""
    excess = sum(t.get(axis, 0.0) for t in taken.values()) - keep
    for shard in reversed(list(taken)):
        if excess <= EPSILON:
            break
        cut = min(excess, taken[shard].get(axis, 0.0))
        taken[shard][axis] = taken[shard].get(axis, 0.0) - cut
        excess -= cut


def covers(totals: Mapping[str, float], need: Mapping[str, float]) -> str | None:
    """The first axis on which a draw fell short of ``need``; None when it covers every one."""
    for axis, v in need.items():
        if v > 0 and totals.get(axis, 0.0) + EPSILON < v:
            return axis
    return None
