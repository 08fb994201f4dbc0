"""An in-memory executor of the core's decisions, and the store over it, for unit tests.

``MemoryExecutor`` carries out the same decisions as ``cloudswarm.gcp.executor.FirestoreExecutor``
over a dict of documents keyed by path, with Firestore's semantics for what the rules rely on
(update of a missing document fails, dotted field paths, increments, array unions, server time).
``MemoryStore`` is the store the turn engine and the tools use, over that executor. The contract
suite (``tests/integration/contract``) runs the same tests against both and the Firestore store.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cloudswarm.core import budget, lease, paths, swarm_rules
from cloudswarm.core import decisions as dc
from cloudswarm.core.documents import artifact_listing, artifact_view, task_view
from cloudswarm.core.records import EffectResult, LeaseResult
from cloudswarm.errors import NotFound, UserError


class MissingDocument(LookupError):
    """An ``update`` named a document that does not exist (Firestore refuses it too)."""


class MemoryDocs:
    """Documents by path, and a clock for server timestamps (strictly increasing)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self._ticks = itertools.count(1)
        self._ids = itertools.count(1)
        # Server time starts at the wall clock, as Firestore's does: rules compare stamps with
        # the time a caller passes (a lease's expiry, a swarm's wall-time budget).
        self.epoch = dt.datetime.now(dt.UTC)

    def server_time(self) -> dt.datetime:
        return self.epoch + dt.timedelta(microseconds=next(self._ticks))

    def new_id(self) -> str:
        return f"auto{next(self._ids):06d}"

    def collection(self, path: str) -> list[tuple[str, dict[str, Any]]]:
        """(id, document) of the documents directly in ``path``, in id order."""
        depth = path.count("/") + 1
        return sorted(
            (paths.doc_id(p), d)
            for p, d in self.docs.items()
            if p.startswith(path + "/") and p.count("/") == depth
        )


def _resolve(v: Any, old: Any, now: dt.datetime) -> Any:
    if v is dc.SERVER_TIME:
        return now
    if isinstance(v, dc.Increment):
        return (old if isinstance(old, int | float) else 0) + v.amount
    if isinstance(v, dc.ArrayUnion):
        cur = list(old) if isinstance(old, list) else []
        return cur + [x for x in v.values if x not in cur]
    if isinstance(v, dc.ArrayRemove):
        return [x for x in (old if isinstance(old, list) else []) if x not in v.values]
    if isinstance(v, Mapping):
        base = old if isinstance(old, dict) else {}
        return {k: _resolve(x, base.get(k), now) for k, x in v.items()}
    return copy.deepcopy(v)


def _set_field(doc: dict[str, Any], dotted: str, v: Any, now: dt.datetime) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        nxt = doc.get(p)
        if not isinstance(nxt, dict):
            nxt = doc[p] = {}
        doc = nxt
    doc[leaf] = _resolve(v, doc.get(leaf), now)


class _Reader:
    def __init__(self, store: MemoryDocs):
        self.store = store

    def get(self, path: str) -> Mapping[str, Any] | None:
        d = self.store.docs.get(path)
        return copy.deepcopy(d) if d is not None else None

    def get_many(self, paths_: Sequence[str]) -> dc.Found:
        return dc.Found({p: self.get(p) for p in paths_})

    def list(self, collection: str, limit: int) -> list[tuple[str, Mapping[str, Any]]]:
        return copy.deepcopy(self.store.collection(collection)[:limit])


class MemoryExecutor:
    def __init__(self, store: MemoryDocs | None = None):
        self.store = store or MemoryDocs()

    def _apply(self, writes: Sequence[dc.Write]) -> tuple[str, ...]:
        # All or nothing, as a transaction: apply to a copy, then swap it in.
        docs = copy.deepcopy(self.store.docs)
        now = self.store.server_time()
        ids = []
        for w in writes:
            if w.op == "add":
                new_id = self.store.new_id()
                ids.append(new_id)
                docs[f"{w.path}/{new_id}"] = _resolve(dict(w.fields), None, now)
            elif w.op == "set":
                docs[w.path] = _resolve(dict(w.fields), None, now)
            elif w.op == "merge":
                docs[w.path] = {
                    **docs.get(w.path, {}),
                    **_resolve(dict(w.fields), docs.get(w.path), now),
                }
            else:
                if w.path not in docs:
                    raise MissingDocument(f"update of missing document {w.path}")
                for k, v in w.fields.items():
                    _set_field(docs[w.path], k, v, now)
        self.store.docs = docs
        return tuple(ids)

    def run(self, rule: dc.Rule, *, what: str) -> dc.Applied:
        outcome = dc.decide(rule, _Reader(self.store))
        if isinstance(outcome, dc.Refusal):
            return dc.Applied(outcome)
        return dc.Applied(outcome, ids=self._apply(outcome.writes))

    def run_unlocked(self, rule: dc.Rule, *, what: str) -> dc.Applied:
        # Firestore's runs without a transaction's locks; here nothing runs at once anyway.
        return self.run(rule, what=what)

    def run_effect(self, sid: str, tool_use_id: str, tool: str, rule: dc.Rule) -> EffectResult:
        marker = paths.effect(sid, tool_use_id)
        reader = _Reader(self.store)
        stored = reader.get(marker)
        if stored is not None:
            return dc.replayed_result(stored)
        outcome = dc.decide(rule, reader)
        res = dc.effect_result(outcome)
        writes = outcome.writes if isinstance(outcome, dc.Decision) else ()
        self._apply((*writes, dc.set_doc(marker, dc.marker_fields(tool, res))))
        return res

    def write(self, writes: Sequence[dc.Write], *, what: str) -> tuple[str, ...]:
        return self._apply(writes)

    def get(self, path: str) -> Mapping[str, Any] | None:
        return _Reader(self.store).get(path)


def _by(field: str) -> Callable[[tuple[str, dict[str, Any]]], Any]:
    """Sort key for (id, document) pairs: one field of the document."""
    return lambda item: item[1][field]


class MemoryStore:
    """The store the turn engine and the tools use, over a ``MemoryExecutor``: the board's
    effects run the core's real rules, and the queries answer as Firestore's do (filters, order,
    limits; a document without the ordering field is left out, as Firestore leaves it out).

    Every state change, the lease and the allowances included, runs the same rule the
    Firestore store runs; only the reads and queries are this store's own.
    """

    def __init__(self, executor: MemoryExecutor | None = None) -> None:
        self.executor = executor or MemoryExecutor()

    @property
    def docs(self) -> dict[str, dict[str, Any]]:
        """Every document by path (live: a test may edit one in place to set a scene)."""
        return self.executor.store.docs

    def _get(self, path: str) -> dict[str, Any] | None:
        return self.docs.get(path)

    # -- effects: the core's rules -----------------------------------------------------------

    def effect(self, sid: str, tool_use_id: str, tool: str, rule: dc.Rule) -> EffectResult:
        return self.executor.run_effect(sid, tool_use_id, tool, rule)

    def apply(self, rule: dc.Rule, *, what: str) -> dc.Decision:
        return self.executor.run(rule, what=what).decision()

    # -- queries -----------------------------------------------------------------------------

    def get_swarm(self, sid: str) -> dict[str, Any]:
        d = self.executor.get(paths.swarm(sid))
        if d is None:
            raise NotFound(f"swarm {sid} does not exist")
        return {"id": sid, **d}

    def swarm_granted(self, sid: str) -> dict[str, float]:
        return swarm_rules.granted_total(
            self.executor.get(p) for p in swarm_rules.budget_shard_paths(sid)
        )

    def get_agent(self, sid: str, aid: str) -> dict[str, Any]:
        d = self.executor.get(paths.agent(sid, aid))
        if d is None:
            raise NotFound(f"agent {aid} does not exist in swarm {sid}")
        return {"id": aid, **d}

    def list_agents(self, sid: str, limit: int = 100) -> list[dict[str, Any]]:
        found = self.executor.store.collection(paths.agents(sid))[:limit]
        return [{"id": i, **copy.deepcopy(d)} for i, d in found]

    def unread(self, sid: str, aid: str, limit: int = 20) -> list[dict[str, Any]]:
        found = [
            (i, d)
            for i, d in self.executor.store.collection(paths.messages(sid))
            if d.get("to") == aid and d.get("read") is False and "created_at" in d
        ]
        found.sort(key=_by("created_at"))
        return [{"id": i, **copy.deepcopy(d)} for i, d in found[:limit]]

    def list_tasks(
        self, sid: str, *, status: str | None, owner: str | None, limit: int
    ) -> list[dict[str, Any]]:
        found = [
            (i, d)
            for i, d in self.executor.store.collection(paths.tasks(sid))
            if (not status or d.get("status") == status)
            and (not owner or d.get("owner") == owner)
            and "created_at" in d
        ]
        found.sort(key=_by("created_at"), reverse=True)
        return [task_view(i, d) for i, d in found[:limit]]

    def count_tasks(self, sid: str) -> dict[str, int]:
        sw = self.get_swarm(sid)
        return {"total": sw.get("task_count", 0), "done": sw.get("tasks_done", 0)}

    def get_artifact(self, sid: str, path: str) -> dict[str, Any]:
        d = self.executor.get(paths.artifact(sid, paths.artifact_key(path)))
        if d is None:
            raise NotFound(f"no artifact at {path}")
        return dict(d)

    def list_artifacts(self, sid: str, prefix: str = "", limit: int = 100) -> list[dict[str, Any]]:
        found = [
            d
            for _, d in self.executor.store.collection(paths.artifacts(sid))
            if d.get("path", "").startswith(prefix)
        ]
        found.sort(key=lambda d: d["path"])
        return [artifact_view(d) for d in found[:limit]]

    def page_artifacts(
        self, sid: str, *, prefix: str, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        found = sorted(
            ((i, d) for i, d in self.executor.store.collection(paths.artifacts(sid))
             if d.get("path", "").startswith(prefix)),
            key=lambda item: item[1]["path"],
        )  # fmt: skip
        if token:
            after = self.executor.get(paths.artifact(sid, token))
            if after is None:
                raise UserError("page_token: unknown or expired", code="validation_failed")
            found = [(i, d) for i, d in found if d["path"] > after["path"]]
        page = [artifact_listing(i, d) for i, d in found[:limit]]
        return page, (found[limit - 1][0] if len(found) > limit else None)

    def get_artifact_version(self, sid: str, path: str, version: int | None) -> dict[str, Any]:
        if version is None:
            return self.get_artifact(sid, path)
        d = self.executor.get(paths.artifact_version(sid, paths.artifact_key(path), version))
        if d is None:
            raise NotFound(f"no version {version} of {path}")
        return dict(d)

    def list_artifact_versions(self, sid: str, path: str, limit: int) -> list[dict[str, Any]]:
        key = paths.artifact_key(path)
        found = self.executor.store.collection(paths.artifact_versions(sid, key))
        found.sort(key=lambda item: item[1]["version"], reverse=True)
        return [artifact_listing(i, d) for i, d in found[:limit]]

    def control_snapshot(self, sid: str) -> tuple[dict[str, Any], dict[str, Any]]:
        kill = self.executor.get(paths.kill_switch())
        swarm = self.executor.get(paths.swarm(sid))
        return (dict(kill) if kill else {"engaged": False}), (dict(swarm) if swarm else {})

    # -- what a turn records -----------------------------------------------------------------

    def commit_step(
        self,
        sid: str,
        aid: str,
        turn_id: str,
        *,
        conv_version: int | None,
        read_ids: list[str],
        usage: dict[str, Any] | None,
        spent: dict[str, Any] | None,
        activity: str,
        container: dict[str, Any] | None = None,
        paused: bool | None = None,
    ) -> None:
        upd: dict[str, Any] = {"activity": activity}
        if container:
            upd["container"] = dict(container)
        if paused is not None:
            upd["paused_answer"] = paused
        if conv_version is not None:
            upd["conv_version"] = conv_version
        upd |= {f"usage.{k}": dc.Increment(v) for k, v in (usage or {}).items()}
        upd |= {f"spent.{k}": dc.Increment(v) for k, v in (spent or {}).items()}
        writes = [dc.update(paths.agent(sid, aid), upd)]
        writes += [
            dc.update(paths.message(sid, m), {"read": True, "read_by_turn": turn_id})
            for m in read_ids
        ]
        self.executor.write(writes, what="commit step")

    def notify_lead(self, sid: str, about: str, body: str) -> None:
        lead = self.get_swarm(sid).get("lead_id", "lead")
        self.executor.write([swarm_rules.lead_note(sid, lead, about, body)], what="notify lead")

    def add_event(
        self, sid: str, kind: str, actor: str, summary: str, data: dict[str, Any] | None = None
    ) -> None:
        self.executor.write(
            [swarm_rules.event(sid, kind, actor, summary, data)], what="append event"
        )

    # -- leases, allowances, budget halts: the core's rules, as the Firestore store runs them --

    def acquire_lease(self, sid: str, aid: str, turn_id: str, ttl_s: float) -> LeaseResult:
        rule = lease.acquire_lease(sid, aid, turn_id, ttl_s, at=_now())
        return lease.lease_result(self.executor.run(rule, what="acquire lease"))

    def release_lease(
        self,
        sid: str,
        aid: str,
        turn_id: str,
        updates: dict[str, Any],
        record: dict[str, Any] | None = None,
    ) -> bool:
        rule = lease.release_lease(sid, aid, turn_id, updates, retried=False, record=record)
        return bool(self.executor.run(rule, what="release lease").decision().result["wake"])

    def expire_lease(self, sid: str, aid: str, turn_id: str) -> bool:
        rule = lease.expire_lease(sid, aid, turn_id, at=_now())
        return bool(self.executor.run(rule, what="expire lease").decision().result["expired"])

    def reclaim_lease(self, sid: str, aid: str, turn_id: str) -> bool:
        rule = lease.reclaim_lease(sid, aid, turn_id)
        return bool(self.executor.run(rule, what="reclaim lease").decision().result["expired"])

    def grant_allowance(
        self,
        sid: str,
        aid: str,
        need: dict[str, float],
        chunk: dict[str, float],
        *,
        daily_cap_usd: float,
        day: str,
    ) -> tuple[str | None, dict[str, float]]:
        rule = swarm_rules.grant_allowance(
            sid, aid, need, chunk, daily_cap_usd=daily_cap_usd, day=day
        )
        outcome = self.executor.run(rule, what="grant allowance").outcome
        if isinstance(outcome, dc.Refusal):
            return outcome.reason, {}
        return None, dict(outcome.result["grant"])

    def halt_for_budget(self, sid: str, aid: str, reason: str) -> None:
        rule = swarm_rules.halt_for_budget(sid, aid, reason, at=_now(), day=budget.today())
        self.apply(rule, what="halt for budget")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
