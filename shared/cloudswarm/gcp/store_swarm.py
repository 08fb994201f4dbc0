"""Swarms, the kill switch and fail-closed budget allowances in Firestore.

The rules are in ``cloudswarm.core.swarm_rules``; this module runs them on the executor, reads,
and pages through the swarm's collections.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core import budget as budgets
from cloudswarm.core import swarm_rules
from cloudswarm.core.decisions import Refusal
from cloudswarm.core.models import Budget, SwarmStatus
from cloudswarm.core.shapes import JSONObject, KillDoc, SwarmDoc
from cloudswarm.errors import NotFound
from cloudswarm.gcp.fs import now, translated


class SwarmStore:
    """Mixin over ``self.executor``, ``self.p`` (Paths) and ``self.db``."""

    def create_swarm(
        self,
        *,
        goal: str,
        model: str,
        budget: Budget,
        created_by: str,
        lead_instructions: str = "",
        request_id: str | None = None,
        template: str | None = None,
        tools: dict | None = None,
        context: dict | None = None,
    ) -> tuple[str, bool]:
        """Create a swarm, its lead and the goal in the lead's inbox, atomically.

        With ``request_id`` the call is idempotent: a repeat returns the first swarm's id and
        ``False``. The caller rings the lead's doorbell.
        """
        rule = swarm_rules.create_swarm(
            "s-" + uuid.uuid4().hex[:12],
            goal=goal,
            model=model,
            budget=asdict(budget),
            created_by=created_by,
            lead_instructions=lead_instructions,
            request_id=request_id,
            template=template,
            tools=tools,
            context=context,
        )
        res = self.apply(rule, what="create swarm").result
        return res["swarm_id"], res["created"]

    def get_swarm(self, sid: str) -> dict:
        with translated("get swarm"):
            snap = self.p.swarm(sid).get()
        if not snap.exists:
            raise NotFound(f"swarm {sid} does not exist")
        return {"id": sid, **snap.to_dict()}

    def swarm_granted(self, sid: str) -> dict[str, float]:
        """What the swarm has granted on each axis, summed over its budget shards in one round
        trip (the swarm document's own ``granted`` is not kept up to date)."""
        refs = [self.db.document(p) for p in swarm_rules.budget_shard_paths(sid)]
        with translated("read budget shards"):
            snaps = list(self.db.get_all(refs))
        return swarm_rules.granted_total(s.to_dict() if s.exists else None for s in snaps)

    def running_swarm(self, sid: str) -> dict:
        """The swarm, refused (``swarm_ended``) once it has ended."""
        doc = self.get_swarm(sid)
        swarm_rules.ensure_running(sid, doc)
        return doc

    def set_swarm_status(
        self, sid: str, new: SwarmStatus, *, actor: str, reason: str = "", summary: str = ""
    ) -> dict:
        """Move a swarm to ``new`` if its state machine allows it; record an event."""
        rule = swarm_rules.set_swarm_status(
            sid, new, actor=actor, reason=reason, summary=summary, at=now(), day=budgets.today()
        )
        return dict(self.apply(rule, what="set swarm status").result)

    def delete_swarm(self, sid: str, *, blobs: Any, buckets: Sequence[str]) -> None:
        """Delete an ended swarm: its documents, and its objects in ``buckets`` (through the
        storage client ``blobs``)."""
        swarm_rules.ensure_ended(sid, self.get_swarm(sid))
        for name in buckets:
            for blob in blobs.list_blobs(blobs.bucket(name), prefix=f"{sid}/"):
                blob.delete()
        with translated("delete swarm"):
            self.db.recursive_delete(self.p.swarm(sid))

    def page_swarms(
        self, *, status: str | None, limit: int, token: str | None
    ) -> tuple[list[dict], str | None]:
        """Swarms, newest first, optionally of one status: a page and the next page's token."""
        col = self.db.collection("swarms")
        query = col.where(filter=FieldFilter("status", "==", status)) if status else col
        return self._page(col, query, "created_at", "desc", limit, token)

    def page_messages(
        self, sid: str, *, order: str, limit: int, token: str | None
    ) -> tuple[list[dict], str | None]:
        col = self.p.messages(sid)
        return self._page(col, col, "created_at", order, limit, token)

    def page_events(
        self, sid: str, *, order: str, limit: int, token: str | None
    ) -> tuple[list[dict], str | None]:
        col = self.p.events(sid)
        return self._page(col, col, "at", order, limit, token)

    def _page(
        self, collection: Any, query: Any, order: str, direction: str, limit: int, token: str | None
    ) -> tuple[list[dict], str | None]:
        """(docs, next page token): ``limit`` documents of ``query`` after the one of
        ``collection`` named by ``token``.

        The token is the id of the last document of the previous page; the cursor starts after
        that document's snapshot, so a page never repeats or skips one, whatever is added
        meanwhile.
        """
        fs_dir = firestore.Query.DESCENDING if direction == "desc" else firestore.Query.ASCENDING
        q = query.order_by(order, direction=fs_dir)
        if token:
            with translated("read page cursor"):
                cursor = collection.document(token).get()
            if not cursor.exists or (cursor.to_dict() or {}).get(order) is None:
                # Well formed but naming no document: the page is gone, not the request
                # malformed (the OpenAPI document can say what a token looks like, not which
                # ones exist), so 404 like any other reference to a missing document.
                raise NotFound("page_token: unknown or expired; list again without it")
            q = q.start_after(cursor)
        with translated("read page"):
            snaps = list(q.limit(limit + 1).stream())
        docs = [{"id": s.id, **s.to_dict()} for s in snaps[:limit]]
        return docs, (snaps[limit - 1].id if len(snaps) > limit else None)

    # -- kill switch -------------------------------------------------------------------------

    def get_kill_switch(self) -> dict:
        with translated("read kill switch"):
            snap = self.p.kill_switch().get()
        return snap.to_dict() if snap.exists else {"engaged": False}

    def set_kill_switch(self, *, engaged: bool, reason: str, actor: str) -> dict:
        """Engage or release the global switch; every change is audited."""
        outcome = swarm_rules.set_kill_switch(engaged=engaged, reason=reason, actor=actor, at=now())
        if isinstance(outcome, Refusal):
            raise outcome.exception()
        self.executor.write(outcome.writes, what="write kill switch")
        return dict(outcome.result)

    def control_snapshot(self, sid: str) -> tuple[KillDoc, SwarmDoc]:
        """The kill switch and the swarm, in one round trip (checked before every model call)."""
        refs = [self.p.kill_switch(), self.p.swarm(sid)]
        with translated("read control state"):
            snaps = {s.reference.path: s for s in self.db.get_all(refs)}
        kill = snaps[refs[0].path]
        swarm = snaps[refs[1].path]
        return (
            kill.to_dict() if kill.exists else {"engaged": False},
            swarm.to_dict() if swarm.exists else {},
        )

    def control_many(self, sids: list[str]) -> tuple[dict, dict[str, dict]]:
        """The kill switch and several swarms in one round trip."""
        refs = [self.p.kill_switch()] + [self.p.swarm(s) for s in sids]
        with translated("read control state"):
            snaps = list(self.db.get_all(refs))
        kill, swarms = {"engaged": False}, {}
        for snap in snaps:
            if snap.reference.path == refs[0].path:
                kill = snap.to_dict() if snap.exists else kill
            elif snap.exists:
                swarms[snap.id] = snap.to_dict()
        return kill, swarms

    # -- budgets -----------------------------------------------------------------------------

    def grant_allowance(
        self, sid: str, aid: str, need: dict, chunk: dict, *, daily_cap_usd: float, day: str
    ) -> tuple[str | None, dict]:
        """Move allowance from the swarm budget (and the global daily cap) to an agent.

        Returns (why it was refused or None, what was granted); see
        ``core.swarm_rules.grant_allowance``.
        """
        rule = swarm_rules.grant_allowance(
            sid, aid, need, chunk, daily_cap_usd=daily_cap_usd, day=day
        )
        # Without a transaction (run_unlocked): agents woken together grant at once, several
        # from one budget shard; in transactions they aborted each other and fell back to
        # retries (docs/bench.md, finding 12). Fail-closed all the same: each shard and the
        # agent are written only if unchanged since they were read, else it decides again.
        outcome = self.executor.run_unlocked(rule, what="grant allowance").outcome
        if isinstance(outcome, Refusal):
            return outcome.reason, {}
        return None, dict(outcome.result["grant"])

    def halt_for_budget(self, sid: str, aid: str, reason: str) -> None:
        """A refused call: an agent over its own budget fails; a swarm over its budget pauses
        (see ``core.swarm_rules.halt_for_budget``)."""
        rule = swarm_rules.halt_for_budget(sid, aid, reason, at=now(), day=budgets.today())
        self.apply(rule, what="halt for budget")

    def notify_lead(self, sid: str, about: str, body: str) -> None:
        lead = self.get_swarm(sid).get("lead_id", "lead")
        self.executor.write([swarm_rules.lead_note(sid, lead, about, body)], what="notify lead")

    def add_event(
        self, sid: str, kind: str, actor: str, summary: str, data: JSONObject | None = None
    ) -> None:
        self.executor.write(
            [swarm_rules.event(sid, kind, actor, summary, data)], what="append event"
        )

    def record_dead_letter(self, source: str, reason: str, payload: dict) -> None:
        with translated("record dead letter"):
            self.p.dead_letters().document().set(
                {"source": source, "reason": reason, "payload": payload, "at": now()}
            )
