"""One agent turn, from doorbell to lease release.

The conversation is a write-ahead log: every model answer is saved (a new GCS version, made
current in the same Firestore batch that marks the consumed inbox read) before any of its tool
calls runs. A turn that dies anywhere is therefore resumed by the next one: unanswered tool calls
are executed again, and their effects, keyed by tool_use id, are not repeated.

The turn is a small interpreter: ``next_step`` decides, from where the turn stands and how long
it has run, what happens next (call the model, save the answer, run its tools, end), and
``_drive`` carries each step out. The order the log needs is in ``next_step`` alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import random
import uuid
from dataclasses import dataclass, field
from typing import Literal, assert_never

from cloudswarm.core import (
    agent_control,
    budget,
    context,
    external,
    external_calls,
    pricing,
    prompt,
    server_tools,
    team,
    timeline,
    tools,
    tracing,
)
from cloudswarm.core.decisions import WriteFields
from cloudswarm.core.models import Usage
from cloudswarm.core.ports import (
    Bus,
    Clock,
    CoreSettings,
    ExternalTools,
    HaltWatch,
    Journal,
    Meter,
    Model,
    ModelResponse,
    Scheduler,
    Tracer,
    TraceSpan,
    TurnStore,
    Workspace,
)
from cloudswarm.core.records import EffectResult
from cloudswarm.core.shapes import (
    AgentDoc,
    Block,
    Board,
    ConvMessage,
    JSONObject,
    KillDoc,
    MessageDoc,
    Request,
    SwarmDoc,
    ToolDef,
    Transcript,
    obj,
    text,
)
from cloudswarm.core.tool_specs import ENDS_TURN
from cloudswarm.errors import Halted, PermanentError, TransientError

_log = logging.getLogger(__name__)
PROGRESS_TOOLS = frozenset({"create_task", "claim_task", "complete_task", "update_task"})


class ChaosCrash(Exception):
    """Raised on purpose by chaos testing to kill a turn between its model call and release."""


@dataclass(frozen=True)
class TurnOutcome:
    # coalesced | missing | inactive | idle | done | continued | retry | failed | halted |
    # interrupted (an operator stopped this agent's turn: halted, and rung to go on)
    kind: str
    detail: str = ""
    calls: int = 0


@dataclass
class Deps:
    """The ports a turn uses (``core/ports.py``); adapters in cloudswarm.gcp and cloudswarm.llm
    implement them, and ``cloudswarm.runtime`` wires them together."""

    settings: CoreSettings
    store: TurnStore
    journal: Journal
    workspace: Workspace
    bus: Bus
    scheduler: Scheduler
    model: Model
    clock: Clock
    meter: Meter  # records each model call's usage and cost
    rng: random.Random = field(default_factory=random.Random)
    watch: HaltWatch | None = None  # shared by a process's streams; without one, the store
    tracer: Tracer = field(default_factory=tracing.NoTracer)  # the turn's spans
    external: ExternalTools | None = None  # MCP servers; without it no external tool is offered


@dataclass(frozen=True)
class Answer:
    """A model answer in the conversation but not yet saved, with what it used and cost."""

    tool_uses: tuple[Block, ...]
    stop_reason: str | None
    usage: dict[str, float]
    spent: dict[str, float]


@dataclass
class TurnState:
    """One turn in progress: what it holds (the agent, the conversation) and where it stands.
    Only the step functions change it; ``next_step`` reads it."""

    sid: str
    aid: str
    turn_id: str
    agent: AgentDoc
    swarm: SwarmDoc
    messages: list[ConvMessage]
    version: int
    started: float
    inbox_ids: list[str] = field(default_factory=list)
    consumed: bool = False
    calls: int = 0
    progress: bool = False
    msgs_sent: int = 0
    ended_by_tool: bool = False
    # Where the turn stands, for next_step:
    pending: list[Block] = field(default_factory=list)  # tool calls the saved log still owes
    opening: ConvMessage | None = None  # mail for the next user message, after the results owed
    answer: Answer | None = None  # the latest answer, not yet saved
    unsaved: bool = False  # tool results in the conversation that no save holds yet
    finished: str | None = None  # a saved answer that asked for no tool: its stop reason
    dropped: bool = False  # an answer came too late to keep
    system: str = ""
    tool_defs: list[ToolDef] = field(default_factory=list)
    span: TraceSpan = field(default_factory=tracing.no_span)  # the turn's invoke_agent span
    log: timeline.TurnLog | None = None  # what the timeline record keeps (core/timeline.py)
    # A history summary's usage and spend, saved with the answer of the call it was made for.
    folded: tuple[dict[str, float], dict[str, float]] = field(default_factory=lambda: ({}, {}))


# -- the steps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallModel:
    """Check the halt and the budgets, call the model, add its answer to the conversation."""

    kind: Literal["call_model"] = "call_model"


@dataclass(frozen=True)
class SaveAnswer:
    """Save the conversation with the answer (and mark the mail it read) before its tools run."""

    kind: Literal["save_answer"] = "save_answer"


@dataclass(frozen=True)
class DropAnswer:
    """The answer came past the lease's fence: record what it cost, keep nothing else."""

    kind: Literal["drop_answer"] = "drop_answer"


@dataclass(frozen=True)
class RunTools:
    """Run the tool calls the saved log owes, and add their results to the conversation."""

    blocks: tuple[Block, ...]
    kind: Literal["run_tools"] = "run_tools"


@dataclass(frozen=True)
class SaveResults:
    """Save the conversation with the results of a tool that ended the turn."""

    kind: Literal["save_results"] = "save_results"


@dataclass(frozen=True)
class End:
    """The turn is over: ``outcome`` is done, or continued (it rings itself to go on)."""

    outcome: Literal["done", "continued"]
    detail: str
    kind: Literal["end"] = "end"


Step = CallModel | SaveAnswer | DropAnswer | RunTools | SaveResults | End


def next_step(t: TurnState, elapsed: float, s: CoreSettings) -> Step:
    """What the turn does next, given where it stands and how long it has held its lease.

    The lease is a fence, checked at no cost: the turn saves an answer or runs a tool only while
    its lease is certain to be live. ``elapsed`` counts from before the lease was granted, so
    the lease ends no sooner than ``lease_ttl_s`` after; the watchdog frees it only after that,
    and ``lease_fence_s`` leaves a margin for the write itself. A turn past it stops and rings
    itself. The halt (kill switch, paused swarm) and the budgets are checked by ``CallModel``
    before each call, and watched during it.
    """
    past_fence = elapsed > s.lease_fence_s
    if t.answer is not None:
        # Write-ahead: an answer is saved before any of its tool calls runs.
        return DropAnswer() if past_fence else SaveAnswer()
    if t.dropped:
        return End("continued", "lease nearly expired")
    if t.ended_by_tool:
        return SaveResults() if t.unsaved else End("done", "a tool ended the turn")
    if t.finished is not None:
        return End("done", t.finished)
    if t.pending:
        if past_fence:
            return End("continued", "lease nearly expired")
        return RunTools(tuple(t.pending))
    if elapsed > s.turn_wall_s:
        # Near the function's limit: ring ourselves to go on in a fresh turn. Nothing to save:
        # the log ends with the last answer, whose tool calls replay from their markers.
        return End("continued", "turn time limit reached")
    return CallModel()


def run_turn(d: Deps, sid: str, aid: str, hop: tracing.Hop = tracing.NO_HOP) -> TurnOutcome:
    """One turn, traced as an ``invoke_agent`` span: the child of the span that rang the
    doorbell (``hop``), so a message's way from sender to recipient is one trace."""
    turn_id = uuid.uuid4().hex[:16]
    attrs = tracing.turn_attributes(sid, aid, turn_id, hop)
    with d.tracer.span(f"invoke_agent {aid}", attrs, parent=hop.traceparent) as span:
        outcome = _turn(d, sid, aid, turn_id, span)
        span.set({"cloudswarm.turn.outcome": outcome.kind, "cloudswarm.turn.calls": outcome.calls})
        return outcome


def _turn(d: Deps, sid: str, aid: str, turn_id: str, span: TraceSpan) -> TurnOutcome:
    s = d.settings
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
    agent: AgentDoc = {"id": aid, **lease.agent}
    version = agent.get("conv_version", 0)
    t = TurnState(sid, aid, turn_id, agent, lease.swarm, [], version, leased_at, span=span)
    span.set(tracing.agent_attributes(agent))
    t.log = timeline.TurnLog(dt.datetime.now(dt.UTC), leased_at)
    try:
        if version:
            t.messages = d.journal.load_conversation(sid, aid, version)
        _chaos(d, "after_lease", t)
        outcome = _drive(d, t)
    except ChaosCrash:
        raise  # a simulated process death releases nothing
    except Halted as e:
        outcome = _halt_outcome(d, t, e)
    except TransientError as e:
        span.fail(e)
        delay = _backoff(d, agent, e)
        try:
            # The turn id names the failed attempt the retry follows (in its trace, too).
            retry = {"swarm_id": sid, "agent_id": aid, "turn_id": turn_id}
            d.scheduler.schedule("retry", retry, delay)
        except Exception:
            with contextlib.suppress(Exception):
                d.store.release_lease(sid, aid, turn_id, {"activity": "error; retrying"})
            raise
        outcome = TurnOutcome("retry", f"{e}; retrying in {delay:.1f}s", t.calls)
    except PermanentError as e:
        span.fail(e)
        _fail_agent(d, t, str(e))
        return TurnOutcome("failed", str(e), t.calls)
    except Exception:
        # Unforeseen: give the lease back now (the doorbell is redelivered and, after its
        # attempts, dead-lettered) rather than leave the agent stuck until the watchdog.
        with contextlib.suppress(Exception):
            d.store.release_lease(sid, aid, turn_id, {"activity": "error; retrying"})
        raise
    _chaos(d, "before_release", t)
    ring = d.store.release_lease(
        sid, aid, turn_id, _final_updates(d, t, outcome), _turn_record(d, t, outcome)
    )
    if outcome.kind in ("continued", "interrupted") or (
        ring and outcome.kind in ("done", "idle") and _mail(d, t)
    ):
        d.bus.ring(sid, aid)  # interrupted: the next turn opens with the operator's message
    return outcome


def _halt_outcome(d: Deps, t: TurnState, e: Halted) -> TurnOutcome:
    """Halted, or interrupted when only this agent was told to stop (an operator's interrupt
    or pause; the kill switch and the swarm's status say nothing): one read, on a halt only."""
    with contextlib.suppress(Exception):
        kill, swarm = d.store.control_snapshot(t.sid)
        if not _stops_all(kill, swarm) and _interrupted(t, swarm):
            return TurnOutcome("interrupted", "stopped by an operator", t.calls)
    return TurnOutcome("halted", str(e), t.calls)


def _mail(d: Deps, t: TurnState) -> bool:
    """Whether a doorbell that came during the turn brought work. A finished turn leaves only
    unread mail behind; a duplicate doorbell brings none, and re-ringing for it would keep an
    agent waking itself (each ring's duplicate lands while the next turn holds the lease). The
    lease is already free, so mail sent after this read rings the agent on its own."""
    return bool(d.store.unread(t.sid, t.aid, limit=1))


def _drive(d: Deps, t: TurnState) -> TurnOutcome:
    """Open the turn (the calls the log owes, the mail), then carry out steps until one ends it."""
    t.pending = prompt.pending_tool_uses(t.messages)
    inbox = agent_control.interrupts_first(d.store.unread(t.sid, t.aid))
    # An answer the API paused that no call has gone on from yet (the turn that got it reached
    # its time limit, was halted or died): this turn sends it again, as the paused turn would.
    paused = bool(t.agent.get("paused_answer")) and prompt.ends_with_answer(t.messages)
    if not t.pending and not inbox and not paused:
        return TurnOutcome("idle", "nothing to do")
    t.inbox_ids = [m["id"] for m in inbox]
    inbox = [_approved_call(d, t, m) for m in inbox]
    for link, attrs in tracing.message_links(inbox):
        t.span.link(link, attrs)
    if inbox:
        opening = prompt.turn_message(t.agent, t.sid, inbox, _board(d, t))
        if t.pending:
            # A resumed turn also reads the mail that came while the dead turn held the lease:
            # after the results it owed, in the same user message.
            t.opening = opening
        else:
            t.messages = [*t.messages, opening]
    t.system = prompt.system_prompt(t.agent, t.swarm.get("goal", ""))
    t.tool_defs = prompt.tools_for(
        t.agent.get("role", "teammate"),
        server_tools.of_agent(t.agent, t.swarm),
        _external_defs(d, t),
    )
    while True:
        step = next_step(t, d.clock.monotonic() - t.started, d.settings)
        match step:
            case End(outcome, detail):
                return TurnOutcome(outcome, detail, t.calls)
            case CallModel():
                _call_model(d, t)
            case SaveAnswer():
                _save_answer(d, t)
            case DropAnswer():
                _drop_answer(d, t)
            case RunTools(blocks):
                _run_tools(d, t, blocks)
            case SaveResults():
                _save(d, t, usage=None, spent=None)
            case _:
                assert_never(step)


def _call_model(d: Deps, t: TurnState) -> None:
    s = d.settings
    model = t.agent.get("model") or s.default_model
    wanted = context.of_swarm(t.swarm)
    managed = context.edits(wanted, s.model_provider, model)
    trigger = obj(wanted.get("compaction")).get("trigger_tokens")
    if isinstance(trigger, int) and not context.compacts(
        Request(context_management={"edits": managed})
    ):
        _fold_history(d, t, model, trigger)  # the API cannot
    request = prompt.build_request(
        model=model,
        max_tokens=s.max_tokens,
        system=t.system,
        tools=t.tool_defs,
        messages=t.messages,
    )
    request = server_tools.with_container(request, t.agent, dt.datetime.now(dt.UTC))
    request = context.with_edits(request, managed)
    response, usage, spent = _exchange(d, t, request)
    _chaos(d, "after_model", t)
    t.messages = [*t.messages, {"role": "assistant", "content": response.content or [_EMPTY]}]
    # A compaction: the conversation goes on from its block (the transcript keeps the rest).
    t.messages = context.since_compaction(t.messages)
    # A history summary made for this call is paid for with it: its spend is saved with it.
    usage, spent = _summed(usage, t.folded[0]), _summed(spent, t.folded[1])
    t.folded = ({}, {})
    t.answer = Answer(
        tool_uses=tuple(b for b in response.content if b.get("type") == "tool_use"),
        stop_reason=response.stop_reason,
        usage=usage,
        spent=spent,
    )


def _exchange(
    d: Deps, t: TurnState, request: Request, edits: list[JSONObject] | None = None
) -> tuple[ModelResponse, dict[str, float], dict[str, float]]:
    """One model call: reserved against the budgets, traced, priced, metered and written to
    the transcript. Returns the response, its usage with its cost, and what it spent."""
    s = d.settings
    need = _reserve(d, t, request)
    content = d.tracer.content
    attrs = tracing.chat_request_attributes(request, s.model_provider, t.calls + 1, content=content)
    began = d.clock.monotonic()
    with d.tracer.span(f"chat {request['model']}", attrs, kind="client") as span:
        response = d.model.call(request, lambda: _halted(d, t))
        span.set(
            tracing.chat_response_attributes(
                response.id,
                response.model,
                response.stop_reason,
                response.usage,
                response.content,
                content=content,
            )
        )
    t.calls += 1
    usage = Usage(**response.usage)
    cost = pricing.cost(request["model"], usage, d.settings.pricing_tariff)
    cost += server_tools.charge(usage, response.content, t.tool_defs)
    if response.container:
        t.agent["container"] = response.container  # kept with the next step's commit
    d.meter.model_call(model=request["model"], usd=cost, usage=response.usage, seq=t.calls)
    if edits is None:
        edits = context.applied(response.context_management, response.content)
    record = Transcript(
        request=request, response=vars(response), cost_usd=cost, context_edits=edits
    )
    d.journal.write_transcript(t.sid, t.aid, t.agent.get("turns", 0), t.turn_id, t.calls, record)
    spent = {"usd": cost, "tokens": usage.total_tokens, "turns": need.get("turns", 0)}
    if t.log is not None:
        t.log.model_call(t.calls, began, d.clock.monotonic(), usage.total_tokens, cost)
    for axis, amount in spent.items():
        t.agent["spent"][axis] = t.agent["spent"].get(axis, 0) + amount
    return response, {**response.usage, "cost_usd": cost}, spent


def _fold_history(d: Deps, t: TurnState, model: str, trigger_tokens: int) -> None:
    """Compaction where the API cannot do it: once the history passes the compaction trigger
    (estimated from its size), one model call writes a summary of the older messages (priced
    and budgeted like any call), and the conversation goes on from it and the newest messages,
    up to a quarter of the trigger. Never silent: the summary says it is one, and the transcript
    keeps what it replaced."""
    trigger_bytes = trigger_tokens * context.BYTES_PER_TOKEN
    if prompt.request_bytes({"m": t.messages}) < trigger_bytes:
        return
    cut = context.fold_point(t.messages, trigger_bytes // context.KEEP_SHARE)
    if cut is None:
        return
    request = prompt.build_request(
        model=model,
        max_tokens=d.settings.max_tokens,
        system=t.system,
        tools=t.tool_defs,
        messages=context.summary_messages(t.messages, cut),
    )
    request["tool_choice"] = {"type": "none"}
    edit: JSONObject = {"type": context.FOLD, "folded_messages": cut}
    response, usage, spent = _exchange(d, t, request, [edit])
    t.messages = context.folded(t.messages, cut, response.content)
    t.folded = (_summed(usage, t.folded[0]), _summed(spent, t.folded[1]))


def _summed(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def _save_answer(d: Deps, t: TurnState) -> None:
    a = t.answer
    assert a is not None  # next_step saves only an answer it has
    _save(d, t, usage=a.usage, spent=a.spent, paused=a.stop_reason == "pause_turn")
    t.answer = None
    _chaos(d, "after_save", t)
    if context.just_compacted(t.messages):
        _chaos(d, "after_compaction", t)  # the saved version is the compacted one
    if a.stop_reason == "pause_turn":
        return  # the API paused a long turn: next_step calls the model again to go on
    if a.stop_reason != "tool_use" or not a.tool_uses:
        t.finished = a.stop_reason or ""
    else:
        t.pending = list(a.tool_uses)


def _drop_answer(d: Deps, t: TurnState) -> None:
    a = t.answer
    assert a is not None
    # The answer is dropped (the next turn asks again), but what it cost is recorded.
    d.store.commit_step(
        t.sid,
        t.aid,
        t.turn_id,
        conv_version=None,
        read_ids=[],
        usage=a.usage,
        spent=a.spent,
        activity="working",
    )
    t.answer, t.dropped = None, True


def _run_tools(d: Deps, t: TurnState, blocks: tuple[Block, ...]) -> None:
    results = [_run_tool(d, t, b) for b in blocks]
    answer = prompt.tool_results_message(results)
    if t.opening:
        answer["content"] += t.opening["content"]
        t.opening = None
    t.messages = [*t.messages, answer]
    t.pending, t.unsaved = [], True


_EMPTY: Block = {"type": "text", "text": "(no answer)"}


def _chaos(d: Deps, point: str, t: TurnState) -> None:
    """Chaos testing only: die here, holding the lease, as a killed process would."""
    s = d.settings
    if s.chaos_crash_rate and point in s.chaos_crash_points and d.rng.random() < s.chaos_crash_rate:
        raise ChaosCrash(f"chaos: turn {t.turn_id} of {t.aid} killed at {point}")


def _run_tool(d: Deps, t: TurnState, block: Block) -> tuple[str, JSONObject, bool]:
    """One tool call as an ``execute_tool`` span; the doorbells it rings carry it."""
    content = d.tracer.content
    attrs = tracing.tool_attributes(block, content=content)
    with d.tracer.span(f"execute_tool {block.get('name', '')}", attrs) as span:
        out = _tool(d, t, block, span.context)
        span.set(tracing.tool_result_attributes(out[1], out[2], content=content))
        return out


def _tool(d: Deps, t: TurnState, block: Block, trace: str) -> tuple[str, JSONObject, bool]:
    ctx = tools.ToolContext(
        swarm_id=t.sid,
        agent=t.agent,
        lead_id=t.swarm.get("lead_id", "lead"),
        tool_use_id=block["id"],
        store=d.store,
        workspace=d.workspace,
        settings=d.settings,
        msgs_since_progress=t.agent.get("msgs_since_progress", 0) + t.msgs_sent,
        trace=trace,
        swarm=t.swarm,
    )
    began = d.clock.monotonic()
    if external.is_external(block.get("name", "")):
        res = _external_tool(d, t, block)
    else:
        res = tools.execute(ctx, block.get("name", ""), block.get("input") or {})
    if t.log is not None:
        t.log.tool_call(block.get("name", ""), began, d.clock.monotonic(), is_error=res.is_error)
        asked = block.get("name") == "request_approval" or "approval" in res.content
        if asked and not res.is_error:
            t.log.approval = str(res.content.get("approval") or "") or None
    _chaos(d, "after_tool", t)
    for who in res.ring:
        d.bus.ring(t.sid, who)
    if not res.is_error:
        t.progress = t.progress or block["name"] in PROGRESS_TOOLS
        t.msgs_sent += block["name"] == "send_message"
        t.ended_by_tool = t.ended_by_tool or block["name"] in ENDS_TURN or res.ends_turn
    return block["id"], res.content, res.is_error


def _external_defs(d: Deps, t: TurnState) -> list[ToolDef]:
    """The agent's servers' allowed and asked tools (listed once per swarm by the adapter);
    a tool the API would refuse is left out, and the log says why."""
    servers = external.of_agent(t.agent, t.swarm)
    if not servers or d.external is None:
        return []
    defs: list[ToolDef] = []
    for server in servers:
        listed = external.definitions(server, d.external.list_tools(t.sid, server))
        for name, why in listed.left_out:
            _log.warning("external tool %s left out of %s's tools: %s", name, t.aid, why)
        defs.extend(listed.definitions)
    return defs


def _external_check(d: Deps, t: TurnState) -> None:
    """Before every external call: the kill switch, the swarm's status, an operator's stop."""
    kill, swarm = d.store.control_snapshot(t.sid)
    _raise_if_halted(kill, swarm)
    if _interrupted(t, swarm):
        raise Halted("stopped by an operator")


def _external_tool(d: Deps, t: TurnState, block: Block) -> EffectResult:
    """The model's call of an external tool, judged by the policy: refused without a call,
    held for a human (``ask``: an approval with the exact call, and the turn ends), or run once."""
    servers = external.of_agent(t.agent, t.swarm)
    verdict = external.judge(block["name"], block.get("input"), servers, t.tool_defs)
    if isinstance(verdict, external.Refuse) or d.external is None:
        why = verdict.reason if isinstance(verdict, external.Refuse) else "no external tools here"
        code = verdict.code if isinstance(verdict, external.Refuse) else "unknown"
        return tools.error(why, code)
    if verdict.ask:
        approval_id = "ap-" + hashlib.sha1(block["id"].encode()).hexdigest()[:10]
        rule = team.request_approval(
            t.sid,
            t.aid,
            approval_id,
            external.approval_action(verdict),
            json.dumps(verdict.arguments, separators=(",", ":"))[:2000],
            call=external.call_doc(verdict),
        )
        return d.store.effect(t.sid, block["id"], "request_approval", rule)
    return external_calls.run_once(
        d.store,
        d.external,
        t.sid,
        block["id"],
        verdict,
        check=lambda: _external_check(d, t),
        chaos=lambda point: _chaos(d, point, t),
    )


def _approved_call(d: Deps, t: TurnState, message: MessageDoc) -> MessageDoc:
    """An approval's inbox message; when it approved an external call, the call runs now (once
    per approval, as the human approved it) and the message carries its result."""
    call = message.get("call")
    if message.get("kind") != "approval" or not message.get("approved") or not call:
        return message
    servers = external.of_agent(t.agent, t.swarm)
    tool = text(call.get("tool"))
    server = next((s for s in servers if s["name"] == call.get("server")), None)
    if server is None or external.level(server, tool) == "deny" or not d.external:
        content: JSONObject = {
            "error": "the approved call may no longer run: the server or the tool "
            "is no longer yours",
            "code": "forbidden",
        }
        return {**message, "body": external_calls.approved_body(message.get("body"), content, True)}
    verdict = external.Call(server, tool, dict(obj(call.get("arguments"))), ask=True)
    res = external_calls.run_once(
        d.store,
        d.external,
        t.sid,
        f"approval-{message.get('approval')}",
        verdict,
        check=lambda: _external_check(d, t),
        chaos=lambda point: _chaos(d, point, t),
    )
    body = external_calls.approved_body(message.get("body"), res.content, res.is_error)
    return {**message, "body": body}


def _save(
    d: Deps,
    t: TurnState,
    *,
    usage: dict[str, float] | None,
    spent: dict[str, float] | None,
    paused: bool = False,
) -> None:
    """Save the conversation and commit the step. ``paused``: it ends with an answer the API
    paused (``pause_turn``), which a later turn sends again should this one end first."""
    t.version += 1
    d.journal.save_conversation(t.sid, t.aid, t.version, t.messages)
    t.agent["paused_answer"] = paused
    d.store.commit_step(
        t.sid,
        t.aid,
        t.turn_id,
        conv_version=t.version,
        read_ids=[] if t.consumed else t.inbox_ids,
        usage=usage,
        spent=spent,
        activity="working",
        container=t.agent.get("container"),
        paused=paused,
    )
    t.consumed, t.unsaved = True, False


def _reserve(d: Deps, t: TurnState, request: Request) -> dict[str, float]:
    """Check the switch and the budgets before a call; raise Halted when the call may not run."""
    s = d.settings
    if t.calls:  # the lease transaction already checked before the first call
        kill, swarm = d.store.control_snapshot(t.sid)
        _raise_if_halted(kill, swarm)
        if _interrupted(t, swarm):
            raise Halted("stopped by an operator")
    need = budget.worst_case(
        request["model"],
        prompt.request_bytes(request),
        s.max_tokens,
        s.pricing_tariff,
        server=server_tools.of_agent(t.agent, t.swarm),
        compaction=context.compacts(request),
    )
    need["turns"] = 0 if t.calls else 1
    sw_budget = t.swarm.get("budget") or {}
    refused = budget.past_wall_time(t.swarm, dt.datetime.now(dt.UTC))
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


def _halted(d: Deps, t: TurnState) -> bool:
    seen = agent_control.interrupt_count(t.swarm, t.aid)  # as the lease read it
    if d.watch is not None:
        return d.watch.halted(t.sid, t.aid, seen)
    kill, swarm = d.store.control_snapshot(t.sid)
    return _stops_all(kill, swarm) or _interrupted(t, swarm)


def _stops_all(kill: KillDoc, swarm: SwarmDoc) -> bool:
    try:
        _raise_if_halted(kill, swarm)
    except Halted:
        return True
    return False


def _interrupted(t: TurnState, swarm: SwarmDoc) -> bool:
    """Whether an operator told this agent's turn to stop since its lease was taken."""
    return agent_control.interrupted(swarm, t.aid, agent_control.interrupt_count(t.swarm, t.aid))


def _raise_if_halted(kill: KillDoc, swarm: SwarmDoc) -> None:
    if kill.get("engaged"):
        raise Halted(f"kill switch engaged: {kill.get('reason', '')}")
    if swarm.get("status") != "running":
        raise Halted(f"swarm is {swarm.get('status')}")


def _board(d: Deps, t: TurnState) -> Board:
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


def _final_updates(d: Deps, t: TurnState, outcome: TurnOutcome) -> JSONObject:
    s = d.settings
    upd: JSONObject = {"turns": t.agent.get("turns", 0) + 1}
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
    if outcome.kind in ("halted", "interrupted"):
        upd["activity"] = f"halted: {outcome.detail}"[:200]
        upd["resume_pending"] = bool(t.consumed or t.inbox_ids)
    elif outcome.kind == "retry":
        upd["activity"] = f"retrying: {outcome.detail}"[:200]
        upd["last_error"] = outcome.detail[:2000]
        upd["retry_attempt"] = t.agent.get("retry_attempt", 0) + 1
    else:
        upd.update(resume_pending=False, retry_attempt=0)
    return upd


def _turn_record(d: Deps, t: TurnState, outcome: TurnOutcome) -> WriteFields | None:
    """The turn's timeline record (core/timeline.py), for the release to write."""
    if t.log is None:
        return None
    return timeline.turn_record(
        t.log,
        turn_id=t.turn_id,
        agent_id=t.aid,
        turn=t.agent.get("turns", 0),
        outcome=outcome.kind,
        detail=outcome.detail,
        ended=d.clock.monotonic(),
        retry_attempt=t.agent.get("retry_attempt", 0),
    )


def _fail_agent(d: Deps, t: TurnState, reason: str) -> None:
    d.store.release_lease(
        t.sid,
        t.aid,
        t.turn_id,
        {"status": "failed", "last_error": reason[:2000], "activity": "failed"},
        _turn_record(d, t, TurnOutcome("failed", reason, t.calls)),
    )
    d.store.add_event(t.sid, "agent_failed", t.aid, f"{t.aid} failed: {reason[:300]}")
    if t.agent.get("role") != "lead":
        d.store.notify_lead(t.sid, t.aid, f"{t.aid} failed permanently: {reason[:500]}")
        d.bus.ring(t.sid, t.swarm.get("lead_id", "lead"))


def _backoff(d: Deps, agent: AgentDoc, e: TransientError) -> float:
    """Exponential backoff with full jitter, never sooner than the server's retry-after."""
    attempt = min(agent.get("retry_attempt", 0), 6)
    base = min(60.0, 1.0 * 2**attempt)
    delay = d.rng.uniform(0.5 * base, base)
    return max(delay, e.retry_after or 0.0)
