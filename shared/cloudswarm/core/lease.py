"""An agent's turn lease and what a turn records, as rules (``cloudswarm.core.decisions``).

One turn at a time per agent: the lease names the turn and when it expires. A doorbell for a
busy agent coalesces into ``wake_pending`` (its turn rings again when it ends); a lease whose
turn died is freed by the watchdog once it has expired. Times to compare come in as ``at``:
rules never read a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from cloudswarm.core import paths
from cloudswarm.core.decisions import (
    Applied,
    Decision,
    FieldValue,
    Increment,
    Outcome,
    Reader,
    Rule,
    Write,
    WriteFields,
    set_doc,
    update,
)
from cloudswarm.core.models import SwarmStatus
from cloudswarm.core.records import LeaseResult
from cloudswarm.core.shapes import (
    JSON,
    AgentDoc,
    KillDoc,
    LeaseDoc,
    SwarmDoc,
    as_json,
)

ACTIVE_AGENT = {"idle", "running", "waiting_approval"}


def acquire_lease(
    sid: str, aid: str, turn_id: str, ttl_s: float, *, at: dt.datetime
) -> Rule[LeaseResult]:
    """Take the agent's turn lease, or coalesce: a busy agent gets ``wake_pending``.

    Reads the kill switch and the swarm with the agent, so a turn learns everything it needs
    to start from one transaction. Result: a ``LeaseResult``.
    """
    agent_path, swarm_path, kill_path = paths.agent(sid, aid), paths.swarm(sid), paths.kill_switch()

    def rule(r: Reader) -> Outcome[LeaseResult]:
        docs = r.get_many([agent_path, swarm_path, kill_path])
        agent, swarm, kill = docs[agent_path], docs[swarm_path], docs[kill_path]
        if agent is None or swarm is None:
            return _lease("missing", reason=f"agent {aid} in swarm {sid} does not exist")
        a, s = agent.copy(), swarm.copy()
        k = kill.copy() if kill is not None else KillDoc(engaged=False)
        if a.get("status") not in ACTIVE_AGENT:
            return _lease("inactive", a, s, k, reason=f"agent is {a.get('status')}")
        lease = a.get("lease")
        if lease and lease.get("turn") != turn_id and lease["expires"] > at:
            wake = () if a.get("wake_pending") else (update(agent_path, {"wake_pending": True}),)
            return _lease("busy", a, s, k, writes=wake)
        if k.get("engaged") or SwarmStatus(s["status"]) != SwarmStatus.RUNNING:
            # Nothing is consumed: the mail stays unread until the swarm may run again.
            return _lease("inactive", a, s, k, reason=_why_halted(k, s))
        held = LeaseDoc(turn=turn_id, expires=at + dt.timedelta(seconds=ttl_s))
        take = update(
            agent_path,
            {
                "lease": as_json(held),
                "wake_pending": False,
                "status": "running",
                "activity": "thinking",
            },
        )
        return _lease("acquired", {**a, "lease": held}, s, k, writes=(take,))

    return rule


def _lease(
    kind: str,
    agent: AgentDoc | None = None,
    swarm: SwarmDoc | None = None,
    kill: KillDoc | None = None,
    *,
    reason: str = "",
    writes: tuple[Write, ...] = (),
) -> Decision[LeaseResult]:
    result = LeaseResult(
        kind, agent or AgentDoc(), swarm or SwarmDoc(), kill or KillDoc(), reason=reason
    )
    return Decision(result=result, writes=writes)


def lease_result(applied: Applied[LeaseResult]) -> LeaseResult:
    """What ``acquire_lease`` decided, as the turn engine reads it."""
    return applied.decision().result


def _why_halted(kill: KillDoc, swarm: SwarmDoc) -> str:
    if kill.get("engaged"):
        return f"kill switch engaged: {kill.get('reason', '')}"
    return f"swarm is {swarm.get('status')}"


def release_lease(
    sid: str,
    aid: str,
    turn_id: str,
    updates: Mapping[str, JSON],
    *,
    retried: bool = False,
    record: WriteFields | None = None,
) -> Rule:
    """Give the lease back with the turn's final agent updates, and (``record``) the turn's
    timeline record (``core.timeline``) in the same transaction: no round trip of its own.

    Result ``{"wake": bool}``: True when the agent must be rung again (mail arrived during the
    turn). A lease that is no longer ours (expired and taken over) is left alone; after a
    failed attempt (``retried``) that attempt may have committed after all and its answer is
    lost, so the answer is "maybe": the caller looks for mail itself.
    """
    agent_path = paths.agent(sid, aid)

    def rule(r: Reader) -> Outcome:
        a = r.get(agent_path)
        if a is None:
            return Decision(result={"wake": False})
        lease = a.get("lease")
        if not lease or lease.get("turn") != turn_id:
            return Decision(result={"wake": retried})
        upd: dict[str, FieldValue] = {"lease": None, "wake_pending": False, **updates}
        if a.get("status") == "running" and "status" not in updates:
            upd["status"] = "idle"
            upd.setdefault("activity", "waiting for mail")
        writes: tuple[Write, ...] = (update(agent_path, upd),)
        if record is not None:
            writes += (set_doc(paths.turn(sid, turn_id), record),)
        return Decision(result={"wake": bool(a.get("wake_pending"))}, writes=writes)

    return rule


def expire_lease(sid: str, aid: str, turn_id: str, *, at: dt.datetime) -> Rule:
    """The watchdog's move: free a lease still held by a dead turn, once it has expired.
    Result ``{"expired": bool}``: whether it did."""
    return _free_dead_lease(sid, aid, turn_id, at=at, activity="recovered after a crash")


def reclaim_lease(sid: str, aid: str, turn_id: str) -> Rule:
    """The retry's move: free a lease still held by the turn that scheduled the retry, without
    waiting for its expiry. That turn ended when it scheduled the retry (it makes no further
    call and runs no tool), so a lease it still holds is one its release failed to give back;
    a lease of any other turn is left alone. Result ``{"expired": bool}``: whether it freed it."""
    return _free_dead_lease(sid, aid, turn_id, at=None, activity="recovered for a retry")


def _free_dead_lease(
    sid: str, aid: str, turn_id: str, *, at: dt.datetime | None, activity: str
) -> Rule:
    agent_path = paths.agent(sid, aid)

    def rule(r: Reader) -> Outcome:
        a = r.get(agent_path)
        lease = a.get("lease") if a is not None else None
        if a is None or not lease or not turn_id or lease.get("turn") != turn_id:
            return Decision(result={"expired": False})
        if at is not None and lease["expires"] > at:
            return Decision(result={"expired": False})
        upd: dict[str, FieldValue] = {"lease": None, "wake_pending": False, "activity": activity}
        if a.get("status") == "running":
            upd["status"] = "idle"
        return Decision(result={"expired": True}, writes=(update(agent_path, upd),))

    return rule


def commit_step(
    sid: str,
    aid: str,
    turn_id: str,
    *,
    conv_version: int | None,
    read_ids: Sequence[str],
    usage: Mapping[str, float] | None,
    spent: Mapping[str, float] | None,
    activity: str,
    container: Mapping[str, str] | None = None,
    paused: bool | None = None,
) -> tuple[Write, ...]:
    """One model step, written together without a read: the new conversation version, the
    messages it consumed, and its usage. The conversation object itself is already stored.
    ``conv_version`` None records the usage alone (an answer the turn had to drop).
    ``paused``: whether that version ends with an answer the API paused (``pause_turn``)."""
    upd: dict[str, FieldValue] = {"activity": activity}
    if conv_version is not None:
        upd["conv_version"] = conv_version
    if paused is not None:
        upd["paused_answer"] = paused
    for k, v in (usage or {}).items():
        upd[f"usage.{k}"] = Increment(v)
    for k, v in (spent or {}).items():
        upd[f"spent.{k}"] = Increment(v)
    if container:
        upd["container"] = dict(container)  # reused by the agent's next calls while it lives
    return (
        update(paths.agent(sid, aid), upd),
        *(
            update(paths.message(sid, mid), {"read": True, "read_by_turn": turn_id})
            for mid in read_ids
        ),
    )
