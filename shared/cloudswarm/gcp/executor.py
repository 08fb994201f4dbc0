"""Carries out the core's decisions in Firestore: read, decide and write in one transaction.

The rules live in ``cloudswarm.core``; this module only maps paths to references and the
decision's sentinels to Firestore's transforms, so a rule cannot behave differently here than in
the in-memory executor the unit tests use.

``run_unlocked`` runs a rule that many callers run at once on one document (the turn lease)
without a transaction: it reads at one moment and writes only if what it updates is unchanged
since. Transactions lock what they read; two that read a document and then both write it wait on
each other, which Firestore settles by aborting one at once but the emulator only at its lock
timeout (2 s), one waiter after another.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudswarm.core import decisions as dc
from cloudswarm.core import paths
from cloudswarm.core.records import EffectResult
from cloudswarm.errors import TransientError
from cloudswarm.gcp.fs import translated

# How often run_unlocked reads and decides again when a document it updates changed meanwhile:
# each time, another caller's write went through, so the callers of one document get through
# one after another.
UNLOCKED_ATTEMPTS = 20
# How often a transaction that aborted (at a read or at its commit: it committed nothing) is
# run again from the start, after a pause of random length, at most COMMIT_PAUSE_S doubled per
# attempt. The client's own retry would rerun an aborted commit at once, back to back: two
# transactions that read the same document and then both write it (agents woken together by a
# released kill switch, drawing from one daily-cap shard) then abort each other again on every
# attempt; apart by a random pause, one of them gets through. (No library here offers a
# jittered retry around a whole transaction.)
TXN_ATTEMPTS = 8
COMMIT_PAUSE_S = 0.05


def _value(v: Any) -> Any:
    if v is dc.SERVER_TIME:
        return firestore.SERVER_TIMESTAMP
    if isinstance(v, dc.Increment):
        return firestore.Increment(v.amount)
    if isinstance(v, dc.ArrayUnion):
        return firestore.ArrayUnion(list(v.values))
    if isinstance(v, dc.ArrayRemove):
        return firestore.ArrayRemove(list(v.values))
    if isinstance(v, Mapping):
        return {k: _value(x) for k, x in v.items()}
    return v


def firestore_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A document the core built, with Firestore's sentinels: for writes made outside a rule."""
    return {k: _value(v) for k, v in fields.items()}


class _Reader:
    """The core's Reader over one Firestore transaction."""

    def __init__(self, db: firestore.Client, txn: Any):
        self.db, self.txn = db, txn

    def get(self, path: str) -> dict[str, Any] | None:
        snap = self.db.document(path).get(transaction=self.txn)
        return snap.to_dict() if snap.exists else None

    def get_many(self, paths_: Sequence[str]) -> dc.Found:
        found: dict[str, Mapping[str, Any] | None] = dict.fromkeys(paths_)
        if not paths_:  # get_all with no references is an error on the emulator
            return dc.Found(found)
        refs = [self.db.document(p) for p in dict.fromkeys(paths_)]
        for snap in self.db.get_all(refs, transaction=self.txn):
            found[snap.reference.path] = snap.to_dict() if snap.exists else None
        return dc.Found(found)

    def list(self, collection: str, limit: int) -> list[tuple[str, Mapping[str, Any]]]:
        q = self.db.collection(collection).limit(limit)
        return [(s.id, s.to_dict()) for s in q.stream(transaction=self.txn)]


class _SnapshotReader:
    """The core's Reader over plain reads, remembering each document's update time (None for a
    missing one): the preconditions of ``run_unlocked``'s writes."""

    def __init__(self, db: firestore.Client):
        self.db = db
        self.seen: dict[str, Any] = {}

    def get(self, path: str) -> Mapping[str, Any] | None:
        return self.get_many([path])[path]

    def get_many(self, paths_: Sequence[str]) -> dc.Found:
        found: dict[str, Mapping[str, Any] | None] = dict.fromkeys(paths_)
        if not paths_:
            return dc.Found(found)
        # One batch read: the documents as they were at one moment.
        refs = [self.db.document(p) for p in dict.fromkeys(paths_)]
        for snap in self.db.get_all(refs):
            path = snap.reference.path
            found[path] = snap.to_dict() if snap.exists else None
            self.seen[path] = snap.update_time if snap.exists else None
        return dc.Found(found)

    def list(self, collection: str, limit: int) -> list[tuple[str, Mapping[str, Any]]]:
        raise TypeError("run_unlocked cannot guard a listing: run the rule with run()")


def _guarded(db: firestore.Client, batch: Any, w: dc.Write, seen: Mapping[str, Any]) -> None:
    """One of ``run_unlocked``'s writes, holding only if its document is as it was read: an
    update (or a set) of a document read is an update on its update time; a set of a document
    read as missing is a create, which fails if another caller created it meanwhile. A set is
    written as an update of the fields it lists: fields it leaves out stay (the documents
    written so hold the same fields at every write)."""
    if w.path not in seen or w.op not in ("update", "set"):
        raise TypeError(f"run_unlocked: {w.op} of {w.path}, not an update or set of a read")
    ref = db.document(w.path)
    fields = {k: _value(v) for k, v in w.fields.items()}
    if seen[w.path] is not None:
        if w.op == "set" and any("." in k or "`" in k for k in fields):
            raise TypeError(f"run_unlocked: set of {w.path} with a field path for a name")
        batch.update(ref, fields, option=db.write_option(last_update_time=seen[w.path]))
    elif w.op == "set":
        batch.create(ref, fields)
    else:
        raise TypeError(f"run_unlocked: update of {w.path}, which was missing when read")


class FirestoreExecutor:
    def __init__(self, db: firestore.Client):
        self.db = db

    def _apply(self, writer: Any, writes: Sequence[dc.Write]) -> tuple[str, ...]:
        ids = []
        for w in writes:
            fields = {k: _value(v) for k, v in w.fields.items()}
            if w.op == "add":
                ref = self.db.collection(w.path).document()
                ids.append(ref.id)
                writer.set(ref, fields)
            elif w.op == "set":
                writer.set(self.db.document(w.path), fields)
            elif w.op == "merge":
                writer.set(self.db.document(w.path), fields, merge=True)
            else:
                writer.update(self.db.document(w.path), fields)
        return tuple(ids)

    def run(self, rule: dc.Rule, *, what: str) -> dc.Applied:
        @firestore.transactional
        def txn_fn(txn: Any) -> dc.Applied:
            outcome = dc.decide(rule, _Reader(self.db, txn))
            if isinstance(outcome, dc.Refusal):
                return dc.Applied(outcome)
            return dc.Applied(outcome, ids=self._apply(txn, outcome.writes))

        return self._transact(txn_fn, what)

    def _transact(self, txn_fn: Any, what: str) -> Any:
        """Run a transactional function, again from the start when a read was aborted."""
        for attempt in range(TXN_ATTEMPTS):
            try:
                with translated(what):
                    return txn_fn(self.db.transaction(max_attempts=1))
            except TransientError as e:
                # An aborted commit ends the client's one attempt as a ValueError ("Failed to
                # commit transaction in 1 attempts") with the Aborted as its cause.
                cause = e.__cause__
                aborted = isinstance(cause, gexc.Aborted) or (
                    isinstance(cause, ValueError) and isinstance(cause.__cause__, gexc.Aborted)
                )
                if not aborted or attempt == TXN_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, COMMIT_PAUSE_S * 2**attempt))
        raise AssertionError("unreachable")

    def run_unlocked(self, rule: dc.Rule, *, what: str) -> dc.Applied:
        """``run`` without a transaction, for a rule whose writes are updates of documents it
        read: read at one moment, decide, and write each of them only if its update time is
        still the one read (Firestore's precondition); if one changed, another caller's write
        went through first, so read and decide again. What the rule read and did not write
        may have changed by the time it writes: its callers check again what they rely on.
        Nobody waits on a lock, however many callers run it at once."""
        for _ in range(UNLOCKED_ATTEMPTS):
            reader = _SnapshotReader(self.db)
            with translated(what):
                outcome = dc.decide(rule, reader)
            if isinstance(outcome, dc.Refusal) or not outcome.writes:
                return dc.Applied(outcome)
            batch = self.db.batch()
            for w in outcome.writes:
                _guarded(self.db, batch, w, reader.seen)
            with translated(what):
                try:
                    batch.commit()
                except (gexc.FailedPrecondition, gexc.Aborted, gexc.Conflict):
                    # Changed (or created) since it was read, or the write waited out a
                    # transaction's lock (the emulator's lock timeout): nothing was written;
                    # decide again.
                    continue
            return dc.Applied(outcome)
        raise TransientError(
            f"firestore {what}: changed by others under each of {UNLOCKED_ATTEMPTS} attempts"
        )

    def run_effect(self, sid: str, tool_use_id: str, tool: str, rule: dc.Rule) -> EffectResult:
        marker = paths.effect(sid, tool_use_id)

        @firestore.transactional
        def txn_fn(txn: Any) -> EffectResult:
            reader = _Reader(self.db, txn)
            stored = reader.get(marker)
            if stored is not None:
                return dc.replayed_result(stored)
            outcome = dc.decide(rule, reader)
            res = dc.effect_result(outcome)
            writes = outcome.writes if isinstance(outcome, dc.Decision) else ()
            self._apply(txn, (*writes, dc.set_doc(marker, dc.marker_fields(tool, res))))
            return res

        return self._transact(txn_fn, f"tool {tool}")

    def write(self, writes: Sequence[dc.Write], *, what: str) -> tuple[str, ...]:
        batch = self.db.batch()
        ids = self._apply(batch, writes)
        with translated(what):
            batch.commit()
        return ids

    def get(self, path: str) -> Mapping[str, Any] | None:
        with translated(f"read {path.split('/')[0]}"):
            snap = self.db.document(path).get()
        return snap.to_dict() if snap.exists else None
