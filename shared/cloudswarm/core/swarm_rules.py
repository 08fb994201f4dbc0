"""The swarm's rules: starting one, its state machine, the kill switch, and the fail-closed
budget allowances (how much of the swarm's budget and of the global daily USD cap an agent
holds, and what an ended swarm gives back).

Each is a pure function to a decision (``cloudswarm.core.decisions``); the stores carry it out.
Where a rule needs the time or the day (a stamp the caller hands back, the daily cap's day) the
caller passes it, so a rule never reads a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cloudswarm.core import paths, shards
from cloudswarm.core.decisions import (
    SERVER_TIME,
    Decision,
    FieldValue,
    Increment,
    Outcome,
    Reader,
    Refusal,
    Rule,
    Write,
    add,
    merge,
    set_doc,
    update,
)
from cloudswarm.core.documents import BUDGET_AXES, event_doc, message_doc, new_agent_doc
from cloudswarm.core.models import TERMINAL_SWARM, Role, SwarmStatus, transition
from cloudswarm.core.shapes import BudgetShardDoc, JSONObject, as_json
from cloudswarm.errors import Conflict

MAX_AGENTS_SCANNED = 500  # above the per-swarm agent limit


def not_found(sid: str) -> Refusal:
    return Refusal(f"swarm {sid} does not exist", "not_found", "not_found")


# -- starting and ending ---------------------------------------------------------------------


def create_swarm(
    sid: str,
    *,
    goal: str,
    model: str,
    budget: Mapping[str, Any],
    created_by: str,
    lead_instructions: str = "",
    request_id: str | None = None,
    template: str | None = None,
    tools: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Rule:
    """A swarm, its lead and the goal in the lead's inbox, together.

    With ``request_id`` it happens once: a repeat finds the marker and answers with the first
    swarm's id and ``created`` False, writing nothing. Result: ``{"swarm_id", "created"}``.
    """
    marker = paths.processed(f"swarm-request:{request_id}") if request_id else None

    def rule(r: Reader) -> Outcome:
        if marker is not None:
            seen = r.get(marker)
            if seen is not None:
                return Decision(result={"swarm_id": seen["swarm_id"], "created": False})
        swarm: dict[str, FieldValue] = {
            "goal": goal,
            "status": SwarmStatus.RUNNING.value,
            "lead_id": "lead",
            "created_at": SERVER_TIME,
            "updated_at": SERVER_TIME,
            "created_by": created_by,
            "budget": dict(budget),
            # Not kept up to date: grants are counted in the budget shards (core/shards.py), so
            # that agents do not all write this document. Kept for readers of the record.
            "granted": dict.fromkeys(BUDGET_AXES, 0),
            "agent_count": 1,
            "task_count": 0,
            "tasks_done": 0,
            "status_reason": None,
            "summary": None,
            "template": template,
            "request_id": request_id,
        }
        if tools:
            swarm["tools"] = dict(tools)  # server tools (core/server_tools.py); absent = none
        if context is not None:
            swarm["context"] = dict(context)  # context edits (core/context.py); absent = defaults
        lead = new_agent_doc(
            name="lead",
            role=Role.LEAD,
            model=model,
            instructions=lead_instructions,
            parent_id=None,
            depth=0,
        )
        writes = (
            *((set_doc(marker, {"swarm_id": sid, "at": SERVER_TIME}),) if marker else ()),
            set_doc(paths.swarm(sid), swarm),
            set_doc(paths.agent(sid, "lead"), lead),
            set_doc(
                paths.message(sid, "goal"),
                message_doc(f"human:{created_by}", "lead", f"Goal: {goal}", "goal"),
            ),
            add(
                paths.events(sid),
                event_doc("swarm_started", created_by, f"Swarm started: {goal[:200]}"),
            ),
        )
        return Decision(result={"swarm_id": sid, "created": True}, writes=writes)

    return rule


def set_swarm_status(
    sid: str,
    new: SwarmStatus,
    *,
    actor: str,
    reason: str = "",
    summary: str = "",
    at: dt.datetime,
    day: str,
) -> Rule:
    """Move a swarm to ``new`` if its state machine allows it, with an event; the same status
    again changes nothing. An ending gives the agents' unspent allowances back (``day`` is the
    daily cap's day). Result: the swarm document as it is now, with its ``id``."""

    def rule(r: Reader) -> Outcome:
        doc = r.get(paths.swarm(sid))
        if doc is None:
            return not_found(sid)
        cur = SwarmStatus(doc["status"])
        if cur == new:
            return Decision(result={"id": sid, **as_json(doc)})
        transition(cur, new, what=f"swarm {sid}")
        upd: dict[str, Any] = {
            "status": new.value,
            "status_reason": reason or None,
            "updated_at": at,  # a real time, not SERVER_TIME: the caller shows the result
        }
        if summary:
            upd["summary"] = summary
        # An ending gives back, and the result shows what the swarm has granted after it
        # (its budget shards' sum; the document's own ``granted`` is not kept up to date).
        given_back: tuple[Write, ...] = ()
        shown: dict[str, Any] = {}
        if new in TERMINAL_SWARM:
            given_back, granted = return_allowances(r, sid, doc, day)
            shown = {"granted": granted}
        return Decision(
            result={"id": sid, **as_json(doc), **upd, **shown},
            writes=(
                *given_back,
                update(paths.swarm(sid), upd),
                add(
                    paths.events(sid),
                    event_doc(
                        f"swarm_{new.value}",
                        actor,
                        f"Swarm {new.value}" + (f": {reason}" if reason else ""),
                    ),
                ),
            ),
        )

    return rule


def ensure_running(sid: str, swarm: Mapping[str, Any]) -> None:
    """Refuse a change to an ended swarm's board or inbox."""
    if SwarmStatus(swarm["status"]) in TERMINAL_SWARM:
        raise Conflict(f"swarm {sid} is {swarm['status']}", code="swarm_ended")


def ensure_ended(sid: str, swarm: Mapping[str, Any]) -> None:
    """Refuse to delete a swarm that may still run."""
    if SwarmStatus(swarm["status"]) not in TERMINAL_SWARM:
        raise Conflict(
            f"swarm {sid} is {swarm['status']}: stop it first (POST /api/swarms/{sid}/stop)",
            code="swarm_active",
        )


def return_allowances(
    r: Reader, sid: str, swarm: Mapping[str, Any], day: str, finishing: str | None = None
) -> tuple[tuple[Write, ...], dict[str, float]]:
    """An ended swarm gives its agents' unspent USD back to today's global daily cap.

    Only agents without a lease: a turn still finishing keeps what covers its call in
    flight (its next check sees the swarm ended), unless it is ``finishing`` the swarm
    itself. No agent can take a lease afterwards, as the lease rule reads this swarm's
    status. Allowances granted on an earlier day are not returned: that day's cap no longer
    limits anything. What goes back goes to the day's shards it came from, as the swarm's
    budget shards recorded them.

    Returns the writes (the agents', the day shards' and the swarm's budget shards', one
    write per document) and what the swarm has granted on each axis once they are made, for
    the caller to show: the swarm's granted USD (the sum of its budget shards) falls by
    exactly what its agents gave back, so it stays the sum of what they hold, and what it
    holds of today's cap falls by what the day got back.
    """
    shard_paths = budget_shard_paths(sid)
    found = r.get_many(shard_paths).of(shard_paths)
    granted = granted_total(found.values())
    held = {
        path: dict(d.get("held") or {})
        for path, d in found.items()
        if d is not None and d.get("held_day") == day and d.get("held")
    }
    granted_today = sum(sum(h.values()) for h in held.values())
    if granted_today <= 0:
        return (), granted
    writes: list[Write] = []
    unspent = 0.0
    for aid, a in r.list(paths.agents(sid), MAX_AGENTS_SCANNED):
        left = (a.get("allowance") or {}).get("usd", 0) - (a.get("spent") or {}).get("usd", 0)
        if (a.get("lease") and aid != finishing) or left <= 0:
            continue
        unspent += left
        writes.append(update(paths.agent(sid, aid), {"allowance.usd": Increment(-left)}))
    if unspent <= 0:
        return (), granted
    # Each budget shard touched gets one write: what it holds of the day, and its granted USD.
    shard_upd: dict[str, dict[str, Any]] = {}
    back = min(unspent, granted_today)
    for path, h in held.items():
        gave = False
        for j, usd in list(h.items()):
            give = min(back, usd)
            if give <= 0:
                continue
            writes.append(merge(paths.day_shard(day, int(j)), {"granted_usd": Increment(-give)}))
            h[j], back, gave = usd - give, back - give, True
        if gave:
            shard_upd.setdefault(path, {})["held"] = {j: v for j, v in h.items() if v > 0}
    # The swarm's granted USD falls by all its agents gave back, taken from the shards that
    # granted it. Values, not increments: this transaction read them. No shard goes below
    # zero (below zero would read as headroom), so rounding never frees budget.
    left_back = unspent
    for path, d in found.items():
        has = (d or {}).get("granted_usd", 0.0)
        if left_back <= 0 or has <= 0:
            continue
        cut = min(left_back, has)
        shard_upd.setdefault(path, {})["granted_usd"] = has - cut
        left_back -= cut
    writes.extend(update(path, upd) for path, upd in shard_upd.items())
    granted["usd"] = max(0.0, granted.get("usd", 0) - unspent)
    return tuple(writes), granted


def granted_total(shard_docs: Iterable[BudgetShardDoc | None]) -> dict[str, float]:
    """What a swarm has granted on each axis: the sum of its budget shards."""
    found = [d for d in shard_docs if d is not None]
    return {a: sum(_granted(d, a) for d in found) for a in BUDGET_AXES}


def _granted(shard: BudgetShardDoc, axis: str) -> float:
    """What a budget shard has granted on ``axis``."""
    return {
        "usd": shard.get("granted_usd", 0.0),
        "tokens": shard.get("granted_tokens", 0.0),
        "turns": shard.get("granted_turns", 0.0),
    }[axis]


def budget_shard_paths(sid: str) -> list[paths.DocPath[BudgetShardDoc]]:
    return [paths.budget_shard(sid, i) for i in range(shards.SWARM_SHARDS)]


# -- the kill switch -------------------------------------------------------------------------


def set_kill_switch(*, engaged: bool, reason: str, actor: str, at: dt.datetime) -> Outcome:
    """Engage or release the global switch; every change is audited, and needs a reason.
    Reads nothing, so the store writes it in one batch. Result: the switch's new document."""
    if not reason.strip():
        return Refusal(
            "a reason is required to change the kill switch", "reason_required", "conflict"
        )
    doc: JSONObject = {"engaged": engaged, "reason": reason, "actor": actor, "at": at}
    return Decision(
        result=doc,
        writes=(set_doc(paths.kill_switch(), doc), add(paths.kill_switch_audit(), doc)),
    )


# -- budgets ---------------------------------------------------------------------------------


def grant_allowance(
    sid: str,
    aid: str,
    need: Mapping[str, float],
    chunk: Mapping[str, float],
    *,
    daily_cap_usd: float,
    day: str,
) -> Rule:
    """Move allowance from the swarm budget (and the global daily cap) to an agent.

    Fail-closed: the grant covers at least ``need`` on every axis or nothing is granted (a
    refusal says why). Neither the swarm document nor one global document is written: the
    grant draws from the swarm's budget shards and the day's shards (``core/shards.py``), so
    agents granted at once write different documents. Result: ``{"grant": {axis: amount}}``.
    """
    agent_path = paths.agent(sid, aid)

    def rule(r: Reader) -> Outcome:
        docs = r.get_many([paths.swarm(sid), agent_path])
        swarm, agent = docs[paths.swarm(sid)], docs[agent_path]
        if swarm is None or agent is None:
            return Refusal("swarm or agent is gone", "not_found", "not_found")
        drawn = draw_allowance(
            r, sid, aid, swarm, agent, need, chunk, daily_cap_usd=daily_cap_usd, day=day
        )
        if isinstance(drawn, Refusal):
            return drawn
        grant, writes = drawn
        if not grant:
            return Decision(result={"grant": {}})
        upd = {f"allowance.{a}": Increment(v) for a, v in grant.items()}
        return Decision(result={"grant": grant}, writes=(*writes, update(agent_path, upd)))

    return rule


def draw_allowance(
    r: Reader,
    sid: str,
    aid: str,
    swarm: Mapping[str, Any],
    agent: Mapping[str, Any],
    need: Mapping[str, float],
    chunk: Mapping[str, float],
    *,
    daily_cap_usd: float,
    day: str,
) -> Refusal | tuple[dict[str, float], list[Write]]:
    """What ``agent`` may add to its allowance to cover ``need`` (a chunk at a time), and the
    shard writes that take it from the swarm budget and the daily cap; or why not. The caller
    adds the grant to the agent (an increment, or the new agent's first allowance)."""
    budget = swarm.get("budget") or {}
    allowance, spent = agent.get("allowance") or {}, agent.get("spent") or {}
    short = {
        a: need.get(a, 0) - (allowance.get(a, 0) - spent.get(a, 0))
        for a in BUDGET_AXES
        if need.get(a, 0) - (allowance.get(a, 0) - spent.get(a, 0)) > 0
    }
    if not short:
        return {}, []
    want = {a: max(v, chunk.get(a, 0)) for a, v in short.items()}
    capped = [a for a in want if budget.get(a) is not None]
    n, key = shards.SWARM_SHARDS, f"{sid}/{aid}"
    read: dict[int, BudgetShardDoc] = {}

    def swarm_free() -> Iterator[tuple[int, dict[str, float]]]:
        for i in shards.order(key, n):
            read[i] = r.get(paths.budget_shard(sid, i)) or BudgetShardDoc()
            yield i, {a: budget[a] / n - _granted(read[i], a) for a in capped}

    taken, totals = shards.draw(
        {a: want[a] for a in capped}, {a: short[a] for a in capped}, swarm_free()
    )
    axis = shards.covers(totals, {a: short[a] for a in capped})
    if axis is not None:  # every shard was read: the total is exact
        granted = sum(_granted(d, axis) for d in read.values())
        return Refusal(
            f"swarm {axis} budget exhausted: {granted:g} of {budget[axis]:g} "
            f"granted, this call needs up to {short[axis]:g} more",
            "budget_exhausted",
            "conflict",
        )
    grant = {a: totals.get(a, want[a]) for a in want}
    from_day: dict[int, dict[str, float]] = {}
    if grant.get("usd"):
        day_read: dict[int, float] = {}

        def day_free() -> Iterator[tuple[int, dict[str, float]]]:
            for j in shards.order(key, shards.DAY_SHARDS):
                if j not in day_read:
                    d = r.get(paths.day_shard(day, j))
                    day_read[j] = (d or {}).get("granted_usd", 0.0)
                yield j, {"usd": daily_cap_usd / shards.DAY_SHARDS - day_read[j]}

        usd_short = {"usd": short.get("usd", 0.0)}
        from_day, got = shards.draw({"usd": grant["usd"]}, usd_short, day_free())
        if got["usd"] + shards.EPSILON < grant["usd"]:
            # The chunk would pass the cap: only what this call is short of is granted, so
            # the rest of the cap stays for other swarms (every shard is read by now).
            from_day, got = shards.draw(usd_short, usd_short, day_free())
        if shards.covers(got, usd_short) is not None:
            return Refusal(
                f"global daily USD cap reached: {sum(day_read.values()):.4f} of {daily_cap_usd:g}",
                "daily_cap",
                "conflict",
            )
        grant["usd"] = got["usd"]
        if "usd" in capped:
            shards.trim(taken, "usd", got["usd"])
    writes: list[Write] = []
    for j, t in from_day.items():
        writes.append(set_doc(paths.day_shard(day, j), {"granted_usd": day_read[j] + t["usd"]}))
    # What the swarm holds of the day's cap, by day shard, to give back when it ends. The
    # first shard of this agent keeps it, so the give-back finds it; only today's is kept.
    holder = shards.start(key, n)
    for i in {*taken, *((holder,) if from_day else ())}:
        d = read.get(i)
        if d is None:
            d = read[i] = r.get(paths.budget_shard(sid, i)) or BudgetShardDoc()
        granted_now = {a: _granted(d, a) for a in BUDGET_AXES}
        for a, v in taken.get(i, {}).items():
            granted_now[a] += v
        held_day, held = d.get("held_day"), dict(d.get("held") or {})
        if i == holder and from_day:
            held = held if held_day == day else {}
            for j, t in from_day.items():
                held[str(j)] = held.get(str(j), 0.0) + t["usd"]
            held_day = day
        doc = {
            **{f"granted_{a}": v for a, v in granted_now.items()},
            "held_day": held_day,
            "held": held,
        }
        writes.append(set_doc(paths.budget_shard(sid, i), doc))
    return grant, writes


def halt_for_budget(sid: str, aid: str, reason: str, *, at: dt.datetime, day: str) -> Rule:
    """A refused call: an agent over its own budget fails and its lead is told; a swarm over
    its budget pauses, so an operator can raise the budget and resume without losing anything.
    A swarm already ended or paused has nothing more to stop."""
    pause = set_swarm_status(sid, SwarmStatus.PAUSED, actor="budget", reason=reason, at=at, day=day)

    def rule(r: Reader) -> Outcome:
        if reason.startswith("agent"):
            swarm = r.get(paths.swarm(sid))
            if swarm is None:
                return not_found(sid)
            return Decision(
                result={"halted": "agent"},
                writes=(
                    agent_status(sid, aid, "failed", error=reason),
                    lead_note(sid, swarm.get("lead_id", "lead"), aid, f"{aid} stopped: {reason}"),
                ),
            )
        try:
            outcome = pause(r)
        except Conflict:  # not running any more: already paused or ended
            return Decision(result={"halted": "swarm"})
        return outcome

    return rule


# -- notes and status writes (no reads: written as they are) --------------------------------


def agent_status(sid: str, aid: str, status: str, *, error: str | None = None) -> Write:
    upd: dict[str, Any] = {"status": status, "activity": status}
    if error is not None:
        upd["last_error"] = error[:2000]
    return update(paths.agent(sid, aid), upd)


def lead_note(sid: str, lead: str, about: str, body: str) -> Write:
    """A system message to the swarm's lead about one of its agents."""
    return add(paths.messages(sid), message_doc("system", lead, body, "system", about=about))


def event(
    sid: str, kind: str, actor: str, summary: str, data: Mapping[str, Any] | None = None
) -> Write:
    return add(paths.events(sid), event_doc(kind, actor, summary, data))
