"""How many round trips each board rule reads in: a bounded few per operation, never one per task
on the board (``make bench`` counts Firestore reads per turn; these keep the rules to the reads
the old transaction bodies made)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from cloudswarm.core import board
from cloudswarm.core import decisions as dc
from tests.unit.turn_fakes import FakeStore, agent_doc

SID = FakeStore.SID


class CountingReader:
    """A Reader over the fake's documents that counts round trips as Firestore makes them (a
    get_many of nothing makes none)."""

    def __init__(self, docs: Mapping[str, dict[str, Any]]) -> None:
        self.docs, self.trips = docs, 0

    def get(self, path: str) -> Mapping[str, Any] | None:
        self.trips += 1
        return copy.deepcopy(self.docs.get(path))

    def get_many(self, paths: Sequence[str]) -> dc.Found:
        self.trips += bool(paths)
        return dc.Found({p: copy.deepcopy(self.docs.get(p)) for p in paths})

    def list(self, collection: str, limit: int) -> list[tuple[str, Mapping[str, Any]]]:
        raise AssertionError("no board rule lists a collection")


def trips(store: FakeStore, rule: dc.Rule) -> int:
    reader = CountingReader(store.docs)
    outcome = dc.decide(rule, reader)
    assert isinstance(outcome, dc.Decision), outcome
    return reader.trips


def _create(store: FakeStore, tid: str, *deps: str, owner: str | None = None) -> None:
    rule = board.create_task(
        SID, "lead", tid, title=tid, owner=owner, blocked_by=deps, max_tasks=500
    )
    assert not store.effect(SID, f"c-{tid}", "create_task", rule).is_error


def _board(length: int) -> FakeStore:
    """A chain t0 <- t1 <- ... (each waits on the one before) and many unrelated tasks."""
    store = FakeStore()
    store.agents["bob"] = agent_doc("teammate")
    for i in range(length):
        _create(store, f"t{i}", *([f"t{i - 1}"] if i else []))
    for i in range(10):
        _create(store, f"other{i}")
    return store


def test_each_rule_reads_in_a_fixed_number_of_round_trips():
    store = _board(3)
    assert trips(store, board.send_message(SID, "lead", ["bob"], "hi", "k")) == 1
    create = board.create_task(
        SID, "lead", "n", title="n", owner="bob", blocked_by=["t0", "t1"], max_tasks=500
    )
    assert trips(store, create) == 1
    assert trips(store, board.claim_task(SID, "lead", "t0")) == 1
    store.effect(SID, "k0", "claim_task", board.claim_task(SID, "lead", "t0"))
    assert trips(store, board.complete_task(SID, "lead", "lead", "t0", "r")) == 2  # + dependents
    store.effect(SID, "k1", "claim_task", board.claim_task(SID, "lead", "other0"))
    assert trips(store, board.complete_task(SID, "lead", "lead", "other0", "r")) == 1
    assert trips(store, board.cancel_task(SID, "lead", "t1")) == 2
    assert trips(store, board.update_task(SID, "lead", "other1", {"owner": "bob"})) == 2
    assert trips(store, board.write_artifact(SID, "lead", "a.md", "o", 1, None)) == 1


def test_a_dependency_change_reads_level_by_level_along_the_chain_only():
    for length in (1, 4, 8):
        store = _board(length)
        rule = board.update_task(SID, "lead", "other0", {"blocked_by": [f"t{length - 1}"]})
        # The task itself, then one round trip per level of the chain below the new dependency.
        assert trips(store, rule) == 1 + length
