"""The shard maths: a stable start per key, draws that read only what they need, fail-closed."""

from __future__ import annotations

import pytest

from cloudswarm.core import shards


def test_a_key_always_starts_at_the_same_shard_and_visits_each_once():
    assert shards.start("s-1/w1", 16) == shards.start("s-1/w1", 16)
    assert sorted(shards.order("s-1/w1", 16)) == list(range(16))
    assert next(shards.order("s-1/w1", 16)) == shards.start("s-1/w1", 16)
    # Many agents spread over the shards rather than piling onto one.
    starts = [shards.start(f"s-1/w{i}", 16) for i in range(1000)]
    assert len(set(starts)) == 16 and max(starts.count(i) for i in range(16)) < 1000 / 16 * 1.5


def test_a_draw_reads_shards_only_while_it_is_short():
    read = []

    def free():
        for i in range(5):
            read.append(i)
            yield i, {"usd": 0.25}

    taken, totals = shards.draw({"usd": 0.5}, {"usd": 0.1}, free())
    assert taken == {0: {"usd": 0.25}, 1: {"usd": 0.25}} and totals == {"usd": 0.5}
    assert read == [0, 1]
    assert shards.covers(totals, {"usd": 0.5}) is None


def test_a_draw_takes_what_is_left_and_says_when_it_falls_short_of_the_need():
    pool = [(0, {"usd": 0.1, "tokens": 0}), (1, {"usd": -0.2, "tokens": 50})]
    taken, totals = shards.draw({"usd": 1.0, "tokens": 80}, {"usd": 0.05, "tokens": 60}, pool)
    assert taken == {0: {"usd": 0.1}, 1: {"tokens": 50}}  # a shard below zero gives nothing
    assert totals == {"usd": pytest.approx(0.1), "tokens": 50}
    assert shards.covers(totals, {"usd": 0.05, "tokens": 60}) == "tokens"


def test_trim_gives_back_from_the_last_shards_first():
    taken = {3: {"usd": 0.25}, 4: {"usd": 0.25}, 5: {"usd": 0.25, "tokens": 9}}
    shards.trim(taken, "usd", 0.375)
    assert taken == {3: {"usd": 0.25}, 4: {"usd": 0.125}, 5: {"usd": 0.0, "tokens": 9}}


def test_shards_never_hand_out_more_than_the_cap_together():
    n, cap = 8, 1.0
    granted = [0.0] * n
    total = 0.0
    for agent in range(200):
        key = f"s/{agent}"
        free = ((i, {"usd": cap / n - granted[i]}) for i in shards.order(key, n))
        taken, totals = shards.draw({"usd": 0.07}, {"usd": 0.03}, free)
        if shards.covers(totals, {"usd": 0.03}) is not None:
            continue  # refused: nothing written
        for i, t in taken.items():
            granted[i] += t["usd"]
        total += totals["usd"]
    assert total == pytest.approx(sum(granted)) and sum(granted) <= cap + 1e-9
    assert all(g <= cap / n + 1e-9 for g in granted)
    assert cap - sum(granted) < 0.03  # refused only once less than a need was left
