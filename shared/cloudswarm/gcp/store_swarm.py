"""Swarms, the kill switch and fail-closed budget allowances in Firestore."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import asdict

from google.cloud import firestore

from cloudswarm.core.budget import today as budget_today
from cloudswarm.core.models import TERMINAL_SWARM, Budget, Role, SwarmStatus, transition
from cloudswarm.errors import Conflict, NotFound
from cloudswarm.gcp.fs import now, translated

ZERO_USAGE = {
    "input_tokens": 0,
    "output_tokens": 0,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "cost_usd": 0.0,
}
AXES = ("usd", "tokens", "turns")
MAX_AGENTS_SCANNED = 500  # above the per-swarm agent limit


def new_agent_doc(
    *, name: str, role: Role, model: str, instructions: str, parent_id: str | None, depth: int
) -> dict:
    return {
        "name": name,
        "role": role.value,
        "model": model,
        "instructions": instructions,
        "status": "idle",
        "parent_id": parent_id,
        "depth": depth,
        "created_at": now(),
        "lease": None,
        "wake_pending": False,
        "turns": 0,
        "usage": dict(ZERO_USAGE),
        "allowance": {a: 0 for a in AXES},
        "spent": {a: 0 for a in AXES},
        "conv_version": 0,
        "last_error": None,
        "turns_without_progress": 0,
        "msgs_since_progress": 0,
        "activity": "waiting for mail",
    }


class SwarmStore:
    """Mixin over ``self.p`` (Paths) and ``self.db``."""

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
    ) -> tuple[str, bool]:
        """Create a swarm, its lead and the goal in the lead's inbox, atomically.

        With ``request_id`` the call is idempotent: a repeat returns the first swarm's id and
        ``False``. The caller rings the lead's doorbell.
        """
        sid = "s-" + uuid.uuid4().hex[:12]
        lead = new_agent_doc(
            name="lead",
            role=Role.LEAD,
            model=model,
            instructions=lead_instructions,
            parent_id=None,
            depth=0,
        )
        swarm = {
            "goal": goal,
            "status": SwarmStatus.RUNNING.value,
            "lead_id": "lead",
            "created_at": now(),
            "updated_at": now(),
            "created_by": created_by,
            "budget": asdict(budget),
            "granted": {a: 0 for a in AXES},
            "agent_count": 1,
            "task_count": 0,
            "tasks_done": 0,
            "status_reason": None,
            "summary": None,
            "template": template,
            "request_id": request_id,
        }
        goal_msg = {
            "from": f"human:{created_by}",
            "to": "lead",
            "body": f"Goal: {goal}",
            "kind": "goal",
            "read": False,
            "created_at": firestore.SERVER_TIMESTAMP,
        }
        marker = self.p.processed(f"swarm-request:{request_id}") if request_id else None

        @firestore.transactional
        def txn_fn(txn):
            if marker is not None:
                snap = marker.get(transaction=txn)
                if snap.exists:
                    return snap.get("swarm_id"), False
                txn.set(marker, {"swarm_id": sid, "at": now()})
            txn.set(self.p.swarm(sid), swarm)
            txn.set(self.p.agent(sid, "lead"), lead)
            txn.set(self.p.messages(sid).document("goal"), goal_msg)
            txn.set(
                self.p.events(sid).document(),
                event_doc("swarm_started", created_by, f"Swarm started: {goal[:200]}"),
            )
            return sid, True

        with translated("create swarm"):
            return txn_fn(self.db.transaction())

    def get_swarm(self, sid: str) -> dict:
        with translated("get swarm"):
            snap = self.p.swarm(sid).get()
        if not snap.exists:
            raise NotFound(f"swarm {sid} does not exist")
        return {"id": sid, **snap.to_dict()}

    def set_swarm_status(
        self, sid: str, new: SwarmStatus, *, actor: str, reason: str = "", summary: str = ""
    ) -> dict:
        """Move a swarm to ``new`` if its state machine allows it; record an event."""
        ref = self.p.swarm(sid)

        @firestore.transactional
        def txn_fn(txn):
            snap = ref.get(transaction=txn)
            if not snap.exists:
                raise NotFound(f"swarm {sid} does not exist")
            cur = SwarmStatus(snap.get("status"))
            if cur == new:
                return {"id": sid, **snap.to_dict()}
            transition(cur, new, what=f"swarm {sid}")
            upd = {"status": new.value, "status_reason": reason or None, "updated_at": now()}
            if summary:
                upd["summary"] = summary
            if new in TERMINAL_SWARM:
                self._return_allowances(txn, sid, snap.to_dict())
            txn.update(ref, upd)
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    f"swarm_{new.value}",
                    actor,
                    f"Swarm {new.value}" + (f": {reason}" if reason else ""),
                ),
            )
            return {"id": sid, **snap.to_dict(), **upd}

        with translated("set swarm status"):
            return txn_fn(self.db.transaction())

    def _return_allowances(self, txn, sid: str, swarm: dict, finishing: str | None = None) -> None:
        """An ended swarm gives its agents' unspent USD back to today's global daily cap.

        Only agents without a lease: a turn still finishing keeps what covers its call in
        flight (its next check sees the swarm ended), unless it is ``finishing`` the swarm
        itself. No agent can take a lease afterwards, as the lease transaction reads this
        swarm's status. Allowances granted on an earlier day are not returned: that day's cap
        no longer limits anything.
        """
        today = budget_today()
        granted_today = (swarm.get("granted_day") or {}).get(today, 0.0)
        if granted_today <= 0:
            return
        agents = list(self.p.agents(sid).limit(MAX_AGENTS_SCANNED).stream(transaction=txn))
        unspent = 0.0
        for snap in agents:  # every read before the first write, as transactions require
            a = snap.to_dict()
            left = (a.get("allowance") or {}).get("usd", 0) - (a.get("spent") or {}).get("usd", 0)
            if (a.get("lease") and snap.id != finishing) or left <= 0:
                continue
            unspent += left
            txn.update(snap.reference, {"allowance.usd": firestore.Increment(-left)})
        back = min(unspent, granted_today)
        if back > 0:
            txn.set(
                self.p.budget_day(today),
                {"granted_usd": firestore.Increment(-back)},
                merge=True,
            )

    # -- kill switch -------------------------------------------------------------------------

    def get_kill_switch(self) -> dict:
        with translated("read kill switch"):
            snap = self.p.kill_switch().get()
        return snap.to_dict() if snap.exists else {"engaged": False}

    def set_kill_switch(self, *, engaged: bool, reason: str, actor: str) -> dict:
        """Engage or release the global switch; every change is audited."""
        if not reason.strip():
            raise Conflict("a reason is required to change the kill switch", code="reason_required")
        doc = {"engaged": engaged, "reason": reason, "actor": actor, "at": now()}
        batch = self.db.batch()
        batch.set(self.p.kill_switch(), doc)
        batch.set(self.p.kill_switch().collection("audit").document(), doc)
        with translated("write kill switch"):
            batch.commit()
        return doc

    def control_snapshot(self, sid: str) -> tuple[dict, dict]:
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

        Returns (why it was refused or None, what was granted). Fail-closed: the grant covers
        at least ``need`` on every axis or nothing is granted. The
        swarm document is written only here, when an agent runs out, never on every call.
        """
        swarm_ref, agent_ref, day_ref = (
            self.p.swarm(sid),
            self.p.agent(sid, aid),
            self.p.budget_day(day),
        )

        @firestore.transactional
        def txn_fn(txn):
            snaps = {
                s.reference.path: s
                for s in self.db.get_all([swarm_ref, agent_ref, day_ref], transaction=txn)
            }
            swarm, agent, dayd = snaps[swarm_ref.path], snaps[agent_ref.path], snaps[day_ref.path]
            if not swarm.exists or not agent.exists:
                return "swarm or agent is gone", {}
            budget = swarm.get("budget") or {}
            granted = swarm.get("granted") or {}
            allowance = agent.get("allowance") or {}
            spent = agent.get("spent") or {}
            grant = {}
            for axis in AXES:
                short = need.get(axis, 0) - (allowance.get(axis, 0) - spent.get(axis, 0))
                if short <= 0:
                    continue
                cap = budget.get(axis)
                remaining = float("inf") if cap is None else cap - granted.get(axis, 0)
                if remaining < short:
                    return (
                        (
                            f"swarm {axis} budget exhausted: {granted.get(axis, 0):g} of {cap:g} "
                            f"granted, this call needs up to {short:g} more"
                        ),
                        {},
                    )
                grant[axis] = min(max(short, chunk.get(axis, 0)), remaining)
            if not grant:
                return None, {}
            day_granted = dayd.get("granted_usd") if dayd.exists else 0.0
            if grant.get("usd", 0) and day_granted + grant["usd"] > daily_cap_usd:
                usd_short = need.get("usd", 0) - (allowance.get("usd", 0) - spent.get("usd", 0))
                if day_granted + usd_short > daily_cap_usd:
                    return (
                        (f"global daily USD cap reached: {day_granted:.4f} of {daily_cap_usd:g}"),
                        {},
                    )
                grant["usd"] = usd_short
            swarm_upd = {f"granted.{a}": firestore.Increment(v) for a, v in grant.items()}
            if grant.get("usd"):
                txn.set(day_ref, {"granted_usd": firestore.Increment(grant["usd"])}, merge=True)
                # What this swarm holds of the day's cap, to give back when it ends. Only the
                # current day is kept, so the swarm document does not grow day by day.
                held = (swarm.to_dict().get("granted_day") or {}).get(day, 0.0)
                swarm_upd["granted_day"] = {day: held + grant["usd"]}
            txn.update(swarm_ref, swarm_upd)
            txn.update(
                agent_ref,
                {f"allowance.{a}": firestore.Increment(v) for a, v in grant.items()},
            )
            return None, grant

        with translated("grant allowance"):
            return txn_fn(self.db.transaction())

    def halt_for_budget(self, sid: str, aid: str, reason: str) -> None:
        """A refused call: an agent over its own budget fails; a swarm over its budget pauses,
        so an operator can raise the budget and resume without losing anything."""
        if reason.startswith("agent"):
            self.set_agent_status(sid, aid, "failed", error=reason)
            self.notify_lead(sid, aid, f"{aid} stopped: {reason}")
            return
        # Already ended or paused: nothing more to stop.
        with contextlib.suppress(Conflict):
            self.set_swarm_status(sid, SwarmStatus.PAUSED, actor="budget", reason=reason)

    def notify_lead(self, sid: str, about: str, body: str) -> None:
        lead = self.get_swarm(sid).get("lead_id", "lead")
        with translated("notify lead"):
            self.p.messages(sid).document().set(
                {
                    "from": "system",
                    "to": lead,
                    "body": body,
                    "kind": "system",
                    "read": False,
                    "about": about,
                    "created_at": firestore.SERVER_TIMESTAMP,
                }
            )

    def add_event(self, sid: str, kind: str, actor: str, summary: str, data: dict | None = None):
        with translated("append event"):
            self.p.events(sid).document().set(event_doc(kind, actor, summary, data))

    def record_dead_letter(self, source: str, reason: str, payload: dict) -> None:
        with translated("record dead letter"):
            self.p.dead_letters().document().set(
                {"source": source, "reason": reason, "payload": payload, "at": now()}
            )


def event_doc(kind: str, actor: str, summary: str, data: dict | None = None) -> dict:
    return {
        "kind": kind,
        "actor": actor,
        "summary": summary[:500],
        "data": data or {},
        "at": firestore.SERVER_TIMESTAMP,
    }
