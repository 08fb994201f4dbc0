"""One agent turn, from doorbell to lease release.

The conversation is a write-ahead log: every model answer is saved (a new GCS version, made
current in the same Firestore batch that marks the consumed inbox read) before any of its tool
calls runs. A turn that dies anywhere is therefore resumed by the next one: unanswered tool calls
are executed again, and their effects, keyed by tool_use id, are not repeated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from cloudswarm.core import budget, pricing, prompt, tools
from cloudswarm.core.models import Usage
from cloudswarm.core.tool_specs import ENDS_TURN
from cloudswarm.errors import Halted, PermanentError, TransientError

log = logging.getLogger("cloudswarm.turn")
PROGRESS_TOOLS = frozenset({"create_task", "claim_task", "complete_task", "update_task"})
KEEP_MESSAGES = 40  # compaction keeps this many recent messages verbatim
COMPACT_AT_BYTES = 400_000  # roughly 100k tokens of history


class ChaosCrash(Exception):
    """Raised on purpose by chaos testing to kill a turn between its model call and release."""


@dataclass(frozen=True)
class TurnOutcome:
    kind: str  # coalesced | missing | inactive | idle | done | continued | retry | failed | halted
    detail: str = ""
    calls: int = 0


@dataclass
class Deps:
    """The ports a turn uses; adapters in cloudswarm.gcp and cloudswarm.llm implement them."""

    settings: Any
    store: Any
    journal: Any  # load/save conversation, write transcript objects
    workspace: Any  # artifact contents
    bus: Any  # ring(swarm_id, agent_id)
    scheduler: Any  # schedule(kind, payload, delay_s)
    model: Any  # call(request, should_abort) -> ModelResponse
    clock: Any  # monotonic() seconds
    rng: random.Random = field(default_factory=random.Random)
    watch: Any = None  # halted(swarm_id) -> bool, shared by a process's streams; else the store


@dataclass
class _Turn:
    sid: str
    aid: str
    turn_id: str
    agent: dict
    swarm: dict
    messages: list[dict]
    version: int
    started: float
    inbox_ids: list[str] = field(default_factory=list)
    consumed: bool = False
    calls: int = 0
    progress: bool = False
    msgs_sent: int = 0
    ended_by_tool: bool = False


def run_turn(d: Deps, sid: str, aid: str) -> TurnOutcome:
    s = d.settings
    turn_id = uuid.uuid4().hex[:16]
    leased_at = d.clock.monotonic()  # before the lease is granted, so never late
    lease = d.store.acquire_lease(sid, aid, turn_id, s.lease_ttl_s)
    if lease.kind != "acquired":
        return TurnOutcome(lease.kind, lease.reason)
    # The watchdog re-rings the agent if this turn dies holding the lease. Without one the
    # turn may not run: a crash would strand the agent.
    try:
        d.scheduler.schedule(
            "watchdog", {"swarm_id": sid, "agent_id": aid, "turn_id": turn_id}, s.lease_ttl_s + 1
        )
    except Exception:
        d.store.release_lease(sid, aid, turn_id, {})
        raise
    agent = {"id": aid, **lease.agent}
    version = agent.get("conv_version", 0)
    t = _Turn(sid, aid, turn_id, agent, lease.swarm, [], version, leased_at)
    try:
        if version:
            t.messages = d.journal.load_conversation(sid, aid, version)
        _chaos(d, "after_lease", t)
        outcome = _drive(d, t)
    except ChaosCrash:
        raise  # a simulated process death releases nothing
    except Halted as e:
        outcome = TurnOutcome("halted", str(e), t.calls)
    except TransientError as e:
        delay = _backoff(d, agent, e)
        try:
            d.scheduler.schedule("retry", {"swarm_id": sid, "agent_id": aid}, delay)
        except Exception:
            with contextlib.suppress(Exception):
                d.store.release_lease(sid, aid, turn_id, {"activity": "error; retrying"})
            raise
        outcome = TurnOutcome("retry", f"{e}; retrying in {delay:.1f}s", t.calls)
    except PermanentError as e:
        _fail_agent(d, t, str(e))
        return TurnOutcome("failed", str(e), t.calls)
    except Exception:
        # Unforeseen: give the lease back now (the doorbell is redelivered and, after its
        # attempts, dead-lettered) rather than leave the agent stuck until the watchdog.
        with contextlib.suppress(Exception):
            d.store.release_lease(sid, aid, turn_id, {"activity": "error; retrying"})
        raise
    _chaos(d, "before_release", t)
    ring = d.store.release_lease(sid, aid, turn_id, _final_updates(d, t, outcome))
    if outcome.kind == "continued" or (ring and outcome.kind in ("done", "idle") and _mail(d, t)):
        d.bus.ring(sid, aid)
    return outcome


def _mail(d: Deps, t: _Turn) -> bool:
    """Whether a doorbell that came during the turn brought work. A finished turn leaves only
    unread mail behind; a duplicate doorbell brings none, and re-ringing for it would keep an
    agent waking itself (each ring's duplicate lands while the next turn holds the lease). The
    lease is already free, so mail sent after this read rings the agent on its own."""
    return bool(d.store.unread(t.sid, t.aid, limit=1))


def _drive(d: Deps, t: _Turn) -> TurnOutcome:
    s = d.settings
    pending = prompt.pending_tool_uses(t.messages)
    inbox = d.store.unread(t.sid, t.aid)
    if not pending and not inbox:
        return TurnOutcome("idle", "nothing to do")
    t.inbox_ids = [m["id"] for m in inbox]
    opening = prompt.turn_message(t.agent, t.sid, inbox, _board(d, t)) if inbox else None
    if not pending:
        t.messages = [*t.messages, opening]
        opening = None
    system = prompt.system_prompt(t.agent, t.swarm.get("goal", ""))
    tool_defs = prompt.tools_for(t.agent.get("role", "teammate"))
    while True:
        if pending:
            if _lease_running_out(d, t):
                return TurnOutcome("continued", "lease nearly expired", t.calls)
            results = [_run_tool(d, t, b) for b in pending]
            answer = prompt.tool_results_message(results)
            if opening:
                # A resumed turn also reads the mail that came while the dead turn held the lease:
                # after the results it owed, in the same user message.
                answer["content"] += opening["content"]
                opening = None
            t.messages = [*t.messages, answer]
            pending = []
            if t.ended_by_tool:
                _save(d, t, usage=None, spent=None)
                return TurnOutcome("done", "a tool ended the turn", t.calls)
        if d.clock.monotonic() - t.started > s.turn_wall_s:
            # Near the function's limit: ring ourselves to go on in a fresh turn. Nothing to save:
            # the log ends with the last answer, whose tool calls replay from their markers.
            return TurnOutcome("continued", "turn time limit reached", t.calls)
        t.messages = _maybe_compact(t.messages)
        request = prompt.build_request(
            model=t.agent.get("model") or s.default_model,
            max_tokens=s.max_tokens,
            system=system,
            tools=tool_defs,
            messages=t.messages,
        )
        need = _reserve(d, t, request)
        response = d.model.call(request, lambda: _halted(d, t.sid))
        t.calls += 1
        usage = Usage(**response.usage)
        cost = pricing.cost(request["model"], usage)
        # Structured for the spend alert policy (a log-based metric on event=model_usage).
        log.info(
            "model call %s",
            t.calls,
            extra={
                "event": "model_usage",
                "usd": cost,
                "model": request["model"],
                **response.usage,
            },
        )
        d.journal.write_transcript(
            t.sid,
            t.aid,
            t.agent.get("turns", 0),
            t.turn_id,
            t.calls,
            {"request": request, "response": response.__dict__, "cost_usd": cost},
        )
        _chaos(d, "after_model", t)
        assistant = {"role": "assistant", "content": response.content or [_EMPTY]}
        t.messages = [*t.messages, assistant]
        spent = {"usd": cost, "tokens": usage.total_tokens, "turns": need.get("turns", 0)}
        for axis, amount in spent.items():
            t.agent["spent"][axis] = t.agent["spent"].get(axis, 0) + amount
        if _lease_running_out(d, t):
            # The answer is dropped (the next turn asks again), but what it cost is recorded.
            d.store.commit_step(
                t.sid,
                t.aid,
                t.turn_id,
                conv_version=None,
                read_ids=[],
                usage={**response.usage, "cost_usd": cost},
                spent=spent,
                activity="working",
            )
            return TurnOutcome("continued", "lease nearly expired", t.calls)
        _save(d, t, usage={**response.usage, "cost_usd": cost}, spent=spent)
        _chaos(d, "after_save", t)
        pending = [b for b in response.content if b.get("type") == "tool_use"]
        if response.stop_reason != "tool_use" or not pending:
            return TurnOutcome("done", response.stop_reason or "", t.calls)


_EMPTY = {"type": "text", "text": "(no answer)"}


def _chaos(d: Deps, point: str, t: _Turn) -> None:
    """Chaos testing only: die here, holding the lease, as a killed process would."""
    s = d.settings
    if s.chaos_crash_rate and point in s.chaos_crash_points and d.rng.random() < s.chaos_crash_rate:
        raise ChaosCrash(f"chaos: turn {t.turn_id} of {t.aid} killed at {point}")


def _run_tool(d: Deps, t: _Turn, block: dict) -> tuple[str, dict, bool]:
    ctx = tools.ToolContext(
        swarm_id=t.sid,
        agent=t.agent,
        lead_id=t.swarm.get("lead_id", "lead"),
        tool_use_id=block["id"],
        store=d.store,
        workspace=d.workspace,
        settings=d.settings,
        msgs_since_progress=t.agent.get("msgs_since_progress", 0) + t.msgs_sent,
    )
    res = tools.execute(ctx, block.get("name", ""), block.get("input") or {})
    _chaos(d, "after_tool", t)
    for who in res.ring:
        d.bus.ring(t.sid, who)
    if not res.is_error:
        t.progress = t.progress or block["name"] in PROGRESS_TOOLS
        t.msgs_sent += block["name"] == "send_message"
        t.ended_by_tool = t.ended_by_tool or block["name"] in ENDS_TURN
    return block["id"], res.content, res.is_error


def _lease_running_out(d: Deps, t: _Turn) -> bool:
    """The lease as a fence, at no cost: a turn writes its conversation or runs a tool only
    while its lease is certain to be live. ``t.started`` was read before the lease was granted,
    so the lease ends no sooner than ``started + ttl``; the watchdog frees it only after that.
    The margin leaves room for the write itself. A turn past it stops and rings itself."""
    return d.clock.monotonic() - t.started > d.settings.lease_fence_s


def _save(d: Deps, t: _Turn, *, usage: dict | None, spent: dict | None) -> None:
    t.version += 1
    d.journal.save_conversation(t.sid, t.aid, t.version, t.messages)
    d.store.commit_step(
        t.sid,
        t.aid,
        t.turn_id,
        conv_version=t.version,
        read_ids=[] if t.consumed else t.inbox_ids,
        usage=usage,
        spent=spent,
        activity="working",
    )
    t.consumed = True


def _reserve(d: Deps, t: _Turn, request: dict) -> dict:
    """Check the switch and the budgets before a call; raise Halted when the call may not run."""
    s = d.settings
    if t.calls:  # the lease transaction already checked before the first call
        kill, swarm = d.store.control_snapshot(t.sid)
        _raise_if_halted(kill, swarm)
    need = budget.worst_case(request["model"], prompt.request_bytes(request), s.max_tokens)
    need["turns"] = 0 if t.calls else 1
    sw_budget = t.swarm.get("budget") or {}
    refused = budget.within_agent_budget(t.agent, need) or budget.past_wall_time(
        t.swarm, dt.datetime.now(dt.UTC)
    )
    allowance = t.agent.setdefault("allowance", {})
    spent = t.agent.setdefault("spent", {})
    limited = budget.capped(need, sw_budget)
    short = any(v > allowance.get(a, 0) - spent.get(a, 0) for a, v in limited.items() if v)
    if not refused and short:
        chunk = budget.chunk(sw_budget, limited, t.swarm.get("agent_count", 1), s.daily_usd_cap)
        refused, grant = d.store.grant_allowance(
            t.sid, t.aid, limited, chunk, daily_cap_usd=s.daily_usd_cap, day=budget.today()
        )
        for axis, amount in grant.items():
            allowance[axis] = allowance.get(axis, 0) + amount
    if refused:
        d.store.halt_for_budget(t.sid, t.aid, refused)
        raise Halted(f"budget: {refused}")
    return need


def _halted(d: Deps, sid: str) -> bool:
    if d.watch is not None:
        return d.watch.halted(sid)
    kill, swarm = d.store.control_snapshot(sid)
    try:
        _raise_if_halted(kill, swarm)
    except Halted:
        return True
    return False


def _raise_if_halted(kill: dict, swarm: dict) -> None:
    if kill.get("engaged"):
        raise Halted(f"kill switch engaged: {kill.get('reason', '')}")
    if swarm.get("status") != "running":
        raise Halted(f"swarm is {swarm.get('status')}")


def _board(d: Deps, t: _Turn) -> dict:
    """A compact, bounded view: the agent's open tasks and a few ready ones, plus counters."""
    mine = [
        x
        for x in d.store.list_tasks(t.sid, status=None, owner=t.aid, limit=10)
        if x["status"] not in ("done", "cancelled")
    ]
    ready = d.store.list_tasks(t.sid, status="ready", owner=None, limit=10)
    return {
        "tasks_total": t.swarm.get("task_count", 0),
        "tasks_done": t.swarm.get("tasks_done", 0),
        "mine": mine,
        "ready": ready,
    }


def _maybe_compact(messages: list[dict]) -> list[dict]:
    if prompt.request_bytes({"m": messages}) < COMPACT_AT_BYTES:
        return messages
    return prompt.compact(messages, KEEP_MESSAGES)


def _final_updates(d: Deps, t: _Turn, outcome: TurnOutcome) -> dict:
    s = d.settings
    upd: dict = {"turns": t.agent.get("turns", 0) + 1}
    if t.progress:
        upd.update(turns_without_progress=0, msgs_since_progress=0)
    else:
        stalled = t.agent.get("turns_without_progress", 0) + (1 if t.calls else 0)
        upd.update(
            turns_without_progress=stalled,
            msgs_since_progress=t.agent.get("msgs_since_progress", 0) + t.msgs_sent,
        )
        if stalled >= s.max_turns_without_progress and t.agent.get("role") != "lead":
            upd.update(
                status="failed",
                last_error=f"loop guard: {stalled} turns without task progress",
            )
            d.store.notify_lead(
                t.sid,
                t.aid,
                f"{t.aid} was stopped by the loop guard after {stalled} turns without task "
                "progress.",
            )
            d.bus.ring(t.sid, t.swarm.get("lead_id", "lead"))
    if outcome.kind == "halted":
        upd["activity"] = f"halted: {outcome.detail}"[:200]
        upd["resume_pending"] = bool(t.consumed or t.inbox_ids)
    elif outcome.kind == "retry":
        upd["activity"] = f"retrying: {outcome.detail}"[:200]
        upd["last_error"] = outcome.detail[:2000]
        upd["retry_attempt"] = t.agent.get("retry_attempt", 0) + 1
    else:
        upd.update(resume_pending=False, retry_attempt=0)
    return upd


def _fail_agent(d: Deps, t: _Turn, reason: str) -> None:
    d.store.release_lease(
        t.sid,
        t.aid,
        t.turn_id,
        {"status": "failed", "last_error": reason[:2000], "activity": "failed"},
    )
    d.store.add_event(t.sid, "agent_failed", t.aid, f"{t.aid} failed: {reason[:300]}")
    if t.agent.get("role") != "lead":
        d.store.notify_lead(t.sid, t.aid, f"{t.aid} failed permanently: {reason[:500]}")
        d.bus.ring(t.sid, t.swarm.get("lead_id", "lead"))


def _backoff(d: Deps, agent: dict, e: TransientError) -> float:
    """Exponential backoff with full jitter, never sooner than the server's retry-after."""
    attempt = min(agent.get("retry_attempt", 0), 6)
    base = min(60.0, 1.0 * 2**attempt)
    delay = d.rng.uniform(0.5 * base, base)
    return max(delay, e.retry_after or 0.0)
