"""Agents in Firestore: the turn lease, the inbox, and what a turn records."""

from __future__ import annotations

import datetime as dt
import time

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core.models import TERMINAL_SWARM, SwarmStatus
from cloudswarm.core.records import LeaseResult
from cloudswarm.errors import NotFound, TransientError
from cloudswarm.gcp.fs import now, translated

ACTIVE_AGENT = {"idle", "running", "waiting_approval"}
RELEASE_ATTEMPTS = 3


class AgentStore:
    """Mixin over ``self.p`` (Paths) and ``self.db``."""

    def acquire_lease(self, sid: str, aid: str, turn_id: str, ttl_s: float) -> LeaseResult:
        """Take the agent's turn lease, or coalesce: a busy agent gets ``wake_pending``.

        Reads the kill switch and the swarm in the same round trip, so a turn learns everything
        it needs to start from one transaction.
        """
        agent_ref, swarm_ref, kill_ref = (
            self.p.agent(sid, aid),
            self.p.swarm(sid),
            self.p.kill_switch(),
        )

        @firestore.transactional
        def txn_fn(txn):
            snaps = {
                s.reference.path: s
                for s in self.db.get_all([agent_ref, swarm_ref, kill_ref], transaction=txn)
            }
            agent, swarm, kill = (snaps[r.path] for r in (agent_ref, swarm_ref, kill_ref))
            if not agent.exists or not swarm.exists:
                return LeaseResult("missing", reason=f"agent {aid} in swarm {sid} does not exist")
            a, s = agent.to_dict(), swarm.to_dict()
            k = kill.to_dict() if kill.exists else {"engaged": False}
            if a.get("status") not in ACTIVE_AGENT:
                return LeaseResult("inactive", a, s, k, reason=f"agent is {a.get('status')}")
            lease = a.get("lease")
            t = now()
            if lease and lease.get("turn") != turn_id and lease["expires"] > t:
                if not a.get("wake_pending"):
                    txn.update(agent_ref, {"wake_pending": True})
                return LeaseResult("busy", a, s, k)
            if k.get("engaged") or SwarmStatus(s["status"]) != SwarmStatus.RUNNING:
                # Nothing is consumed: the mail stays unread until the swarm may run again.
                return LeaseResult("inactive", a, s, k, reason=_why_halted(k, s))
            expires = t + dt.timedelta(seconds=ttl_s)
            txn.update(
                agent_ref,
                {
                    "lease": {"turn": turn_id, "expires": expires},
                    "wake_pending": False,
                    "status": "running",
                    "activity": "thinking",
                },
            )
            a["lease"] = {"turn": turn_id, "expires": expires}
            return LeaseResult("acquired", a, s, k)

        with translated("acquire lease"):
            return txn_fn(self.db.transaction())

    def release_lease(self, sid: str, aid: str, turn_id: str, updates: dict) -> bool:
        """Give the lease back with the turn's final agent updates.

        Returns True when the agent must be rung again (mail arrived during the turn). A lease
        that is no longer ours (expired and taken over) is left alone.
        """
        ref = self.p.agent(sid, aid)

        @firestore.transactional
        def txn_fn(txn, retried: bool):
            snap = ref.get(transaction=txn)
            if not snap.exists:
                return False
            lease = snap.get("lease")
            if not lease or lease.get("turn") != turn_id:
                # After a failed attempt, that attempt may have committed after all and its
                # answer is lost: say "maybe", so the caller looks for mail itself.
                return retried
            wake = bool(snap.get("wake_pending"))
            upd = {"lease": None, "wake_pending": False, **updates}
            if snap.get("status") == "running" and "status" not in updates:
                upd["status"] = "idle"
                upd.setdefault("activity", "waiting for mail")
            txn.update(ref, upd)
            return wake

        # A release that fails leaves the agent to the watchdog, at lease expiry (minutes): try
        # again a few times first. It is idempotent, as it checks the turn id.
        for attempt in range(RELEASE_ATTEMPTS - 1):
            try:
                with translated("release lease"):
                    return txn_fn(self.db.transaction(), attempt > 0)
            except TransientError:
                time.sleep(0.25 * 2**attempt)
        with translated("release lease"):
            return txn_fn(self.db.transaction(), True)

    def expire_lease(self, sid: str, aid: str, turn_id: str) -> bool:
        """The watchdog's move: free a lease still held by a dead turn. True if it did."""
        ref = self.p.agent(sid, aid)

        @firestore.transactional
        def txn_fn(txn):
            snap = ref.get(transaction=txn)
            if not snap.exists:
                return False
            lease = snap.get("lease")
            if not lease or lease.get("turn") != turn_id or lease["expires"] > now():
                return False
            upd = {"lease": None, "wake_pending": False, "activity": "recovered after a crash"}
            if snap.get("status") == "running":
                upd["status"] = "idle"
            txn.update(ref, upd)
            return True

        with translated("expire lease"):
            return txn_fn(self.db.transaction())

    def get_agent(self, sid: str, aid: str) -> dict:
        with translated("get agent"):
            snap = self.p.agent(sid, aid).get()
        if not snap.exists:
            raise NotFound(f"agent {aid} does not exist in swarm {sid}")
        return {"id": aid, **snap.to_dict()}

    def list_agents(self, sid: str, limit: int = 100) -> list[dict]:
        with translated("list agents"):
            return [{"id": s.id, **s.to_dict()} for s in self.p.agents(sid).limit(limit).stream()]

    def unread(self, sid: str, aid: str, limit: int = 20) -> list[dict]:
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
    ) -> None:
        """Record one model step atomically: the new conversation version, the messages it
        consumed, and its usage. The conversation object itself is already in GCS.
        ``conv_version`` None records the usage alone (an answer the turn had to drop).
        """
        batch = self.db.batch()
        upd: dict = {"activity": activity}
        if conv_version is not None:
            upd["conv_version"] = conv_version
        for k, v in (usage or {}).items():
            upd[f"usage.{k}"] = firestore.Increment(v)
        for k, v in (spent or {}).items():
            upd[f"spent.{k}"] = firestore.Increment(v)
        batch.update(self.p.agent(sid, aid), upd)
        for mid in read_ids:
            batch.update(
                self.p.messages(sid).document(mid), {"read": True, "read_by_turn": turn_id}
            )
        with translated("commit step"):
            batch.commit()

    def set_agent_status(self, sid: str, aid: str, status: str, *, error: str | None = None):
        upd = {"status": status, "activity": status}
        if error is not None:
            upd["last_error"] = error[:2000]
        with translated("set agent status"):
            self.p.agent(sid, aid).update(upd)


def _why_halted(kill: dict, swarm: dict) -> str:
    if kill.get("engaged"):
        return f"kill switch engaged: {kill.get('reason', '')}"
    status = swarm.get("status")
    if status in {s.value for s in TERMINAL_SWARM}:
        return f"swarm is {status}"
    return f"swarm is {status}"
