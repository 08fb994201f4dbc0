"""Agents in Firestore: the turn lease, the inbox, and what a turn records.

The rules are in ``cloudswarm.core.lease``; this module runs them on the executor and reads.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core import agent_control, lease, swarm_rules, team
from cloudswarm.core.decisions import WriteFields
from cloudswarm.core.records import LeaseResult
from cloudswarm.core.shapes import AgentDoc, JSONObject, MessageDoc
from cloudswarm.errors import NotFound, TransientError
from cloudswarm.gcp.fs import now, translated

RELEASE_ATTEMPTS = 3


class AgentStore:
    """Mixin over ``self.executor``, ``self.p`` (Paths) and ``self.db``."""

    def acquire_lease(self, sid: str, aid: str, turn_id: str, ttl_s: float) -> LeaseResult:
        """Take the agent's turn lease, or coalesce (see ``core.lease.acquire_lease``).

        Without a transaction (``run_unlocked``): every doorbell of an agent runs this, several
        at once (a duplicate, a coalesced ring, a retry), and all but one find it busy; in a
        transaction each would wait on the others' locks. The lease itself is exact (it is
        written only over the agent as read); the kill switch and the swarm it read may change
        right after, as they may after any commit, and the turn checks them before each call."""
        rule = lease.acquire_lease(sid, aid, turn_id, ttl_s, at=now())
        return lease.lease_result(self.executor.run_unlocked(rule, what="acquire lease"))

    def release_lease(
        self,
        sid: str,
        aid: str,
        turn_id: str,
        updates: JSONObject,
        record: WriteFields | None = None,
    ) -> bool:
        """Give the lease back with the turn's final agent updates (and its timeline record);
        True when the agent must be rung again (see ``core.lease.release_lease``)."""

        def attempt(retried: bool) -> bool:
            rule = lease.release_lease(sid, aid, turn_id, updates, retried=retried, record=record)
            return bool(self.executor.run(rule, what="release lease").decision().result["wake"])

        # A release that fails leaves the agent to the watchdog, at lease expiry (minutes): try
        # again a few times first. It is idempotent, as it checks the turn id.
        for n in range(RELEASE_ATTEMPTS - 1):
            try:
                return attempt(n > 0)
            except TransientError:
                time.sleep(0.25 * 2**n)
        return attempt(True)

    def expire_lease(self, sid: str, aid: str, turn_id: str) -> bool:
        """The watchdog's move: free a lease still held by a dead turn. True if it did."""
        rule = lease.expire_lease(sid, aid, turn_id, at=now())
        return bool(self.executor.run(rule, what="expire lease").decision().result["expired"])

    def reclaim_lease(self, sid: str, aid: str, turn_id: str) -> bool:
        """The retry's move: free a lease its own failed turn still holds. True if it did."""
        rule = lease.reclaim_lease(sid, aid, turn_id)
        return bool(self.executor.run(rule, what="reclaim lease").decision().result["expired"])

    def get_agent(self, sid: str, aid: str) -> dict:
        with translated("get agent"):
            snap = self.p.agent(sid, aid).get()
        if not snap.exists:
            raise NotFound(f"agent {aid} does not exist in swarm {sid}")
        return {"id": aid, **snap.to_dict()}

    def list_agents(self, sid: str, limit: int = 100) -> list[AgentDoc]:
        with translated("list agents"):
            return [{"id": s.id, **s.to_dict()} for s in self.p.agents(sid).limit(limit).stream()]

    def unread(self, sid: str, aid: str, limit: int = 20) -> list[MessageDoc]:
        """The oldest unread messages for an agent (bounded)."""
        q = (
            self.p.messages(sid)
            .where(filter=FieldFilter("to", "==", aid))
            .where(filter=FieldFilter("read", "==", False))
            .order_by("created_at")
            .limit(limit)
        )
        with translated("read inbox"):
            return [{"id": s.id, **s.to_dict()} for s in q.stream()]

    def commit_step(
        self,
        sid: str,
        aid: str,
        turn_id: str,
        *,
        conv_version: int | None,
        read_ids: list[str],
        usage: dict | None,
        spent: dict | None,
        activity: str,
        container: dict | None = None,
        paused: bool | None = None,
    ) -> None:
        """Record one model step atomically (see ``core.lease.commit_step``)."""
        writes = lease.commit_step(
            sid,
            aid,
            turn_id,
            conv_version=conv_version,
            read_ids=read_ids,
            usage=usage,
            spent=spent,
            activity=activity,
            container=container,
            paused=paused,
        )
        self.executor.write(writes, what="commit step")

    def set_agent_status(self, sid: str, aid: str, status: str, *, error: str | None = None):
        write = swarm_rules.agent_status(sid, aid, status, error=error)
        self.executor.write([write], what="set agent status")

    def stop_agent(self, sid: str, aid: str, actor: str) -> dict[str, Any]:
        """A human stops one agent for good (see ``core.team.stop_agent``)."""
        return dict(self.apply(team.stop_agent(sid, aid, actor), what="stop agent").result)

    def interrupt_agent(self, sid: str, aid: str, body: str, actor: str) -> dict[str, Any]:
        """An operator's interrupting message (see ``core.agent_control.interrupt_agent``)."""
        mid = self.p.messages(sid).document().id  # a fresh id, as an ``add`` would get
        rule = agent_control.interrupt_agent(sid, aid, mid, body, actor)
        return dict(self.apply(rule, what="interrupt agent").result)

    def human_message(
        self, sid: str, aid: str, body: str, actor: str, trace: str | None = None
    ) -> dict[str, Any]:
        """An operator's message to one agent (see ``core.agent_control.human_message``)."""
        mid = self.p.messages(sid).document().id  # a fresh id, as an ``add`` would get
        rule = agent_control.human_message(sid, aid, mid, body, actor, trace)
        return dict(self.apply(rule, what="send message").result)

    def pending_wakeups(self, sid: str | None = None, limit: int = 1000) -> set[tuple[str, str]]:
        """(swarm, agent) for every agent with unread mail or a halted turn to resume, in one
        swarm or in all: bounded queries on the ``read`` and ``resume_pending`` fields."""
        if sid:
            unread = self.p.messages(sid).where(filter=FieldFilter("read", "==", False))
            resumed = self.p.agents(sid).where(filter=FieldFilter("resume_pending", "==", True))
        else:
            unread = self.db.collection_group("messages").where(
                filter=FieldFilter("read", "==", False)
            )
            resumed = self.db.collection_group("agents").where(
                filter=FieldFilter("resume_pending", "==", True)
            )
        targets: set[tuple[str, str]] = set()
        with translated("find pending wake-ups"):
            for snap in unread.limit(limit).stream():
                targets.add((snap.reference.parent.parent.id, snap.get("to")))
            for snap in resumed.limit(limit).stream():
                targets.add((snap.reference.parent.parent.id, snap.id))
        return targets

    def stale_leases(self, limit: int = 500) -> list[tuple[str, str, str]]:
        """(swarm, agent, turn) for every lease past its expiry, in every swarm (bounded)."""
        q = self.db.collection_group("agents").where(
            filter=FieldFilter("lease.expires", "<", now())
        )
        with translated("find stale leases"):
            return [
                (s.reference.parent.parent.id, s.id, (s.get("lease") or {}).get("turn", ""))
                for s in q.limit(limit).stream()
            ]

    def pause_agent(self, sid: str, aid: str, actor: str, reason: str = "") -> dict[str, Any]:
        """Pause one agent on its own (see ``core.agent_control.pause_agent``)."""
        rule = agent_control.pause_agent(sid, aid, actor, reason)
        return dict(self.apply(rule, what="pause agent").result)

    def resume_agent(self, sid: str, aid: str, actor: str, reason: str = "") -> dict[str, Any]:
        """Resume a paused agent (see ``core.agent_control.resume_agent``)."""
        rule = agent_control.resume_agent(sid, aid, actor, reason)
        return dict(self.apply(rule, what="resume agent").result)

    def usage(self, sid: str) -> dict[str, Any]:
        """Tokens and cost per agent and in total, with the swarm's budget."""
        doc = self.get_swarm(sid)
        fields = (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "web_search_requests",
            "web_fetch_requests",
        )
        total: dict[str, Any] = dict.fromkeys(fields, 0) | {"cost_usd": 0.0}
        agents = []
        for a in self.list_agents(sid, limit=1000):
            u: Mapping[str, Any] = a.get("usage") or {}
            row: dict[str, float] = {f: int(u.get(f) or 0) for f in fields}
            row["cost_usd"] = float(u.get("cost_usd") or 0)
            for k, v in row.items():
                total[k] += v
            agents.append({"agent_id": a["id"], "turns": int(a.get("turns") or 0), "usage": row})
        return {"swarm_id": sid, "total": total, "agents": agents, "budget": doc.get("budget")}
