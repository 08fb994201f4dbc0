"""Executing the agent tools: validate input, enforce the role server-side, then one effect.

Mutating tools run a core rule through ``store.effect`` keyed by the tool_use id, so a replayed
turn gets the stored result back instead of a second task, message or artifact. Errors the model
can act on come back as error results, never as exceptions.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import sys
from dataclasses import dataclass, field

import jsonschema

from cloudswarm.core import board, external, server_tools, team
from cloudswarm.core import budget as budgets
from cloudswarm.core.decisions import Rule
from cloudswarm.core.ports import CoreSettings, ToolStore, Workspace
from cloudswarm.core.records import EffectResult, bounded_int
from cloudswarm.core.shapes import JSON, AgentDoc, JSONObject, SwarmDoc, as_json, seq, text
from cloudswarm.core.tool_specs import LEAD_ONLY, TOOLS
from cloudswarm.errors import UserError

_SCHEMAS = {t["name"]: t["input_schema"] for t in TOOLS}
_PATH = re.compile(r"^[A-Za-z0-9._\-/ ]+$")


@dataclass(frozen=True)
class ToolContext:
    swarm_id: str
    agent: AgentDoc  # the agent document with its "id"
    lead_id: str
    tool_use_id: str
    store: ToolStore
    workspace: Workspace
    settings: CoreSettings
    msgs_since_progress: int = 0
    trace: str = ""  # the tool call's span (traceparent): a message carries it to its recipient
    swarm: SwarmDoc = field(default_factory=lambda: SwarmDoc())  # as the lease read it


def error(message: str, code: str = "invalid") -> EffectResult:
    return EffectResult({"error": message, "code": code}, is_error=True)


def validate(name: str, args: object) -> str | None:
    """Why the call is invalid, in words the model can act on; None when it is fine."""
    if name not in _SCHEMAS:
        return f"unknown tool {name!r}; the tools are: {', '.join(sorted(_SCHEMAS))}"
    try:
        jsonschema.validate(args, _SCHEMAS[name])
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "input"
        return f"invalid input for {name} at {where}: {e.message}"
    return None


def clean_path(path: str) -> str:
    p = posixpath.normpath(path.strip().lstrip("/"))
    if p in ("", ".") or p.startswith("..") or not _PATH.match(p):
        raise UserError(
            f"invalid artifact path {path!r}: use letters, digits, '.', '-', '_', ' ' and '/', "
            "relative, without '..'"
        )
    return p


def execute(ctx: ToolContext, name: str, args: JSONObject) -> EffectResult:
    problem = validate(name, args)
    if problem:
        return error(problem)
    me = ctx.agent["id"]
    if name in LEAD_ONLY and ctx.agent.get("role") != "lead":
        return error(f"{name} is for the lead only; ask {ctx.lead_id} instead", "forbidden")
    try:
        return _HANDLERS[name](ctx, me, args)
    except UserError as e:
        return error(str(e), e.code)


def _rule(ctx: ToolContext, name: str, rule: Rule) -> EffectResult:
    """A core rule as this call's effect, once per tool_use id (``cloudswarm.core.decisions``)."""
    return ctx.store.effect(ctx.swarm_id, ctx.tool_use_id, name, rule)


def _send_message(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    if ctx.msgs_since_progress >= ctx.settings.max_pair_messages:
        return error(
            f"loop guard: you sent {ctx.msgs_since_progress} messages without any task progress; "
            "make progress on the board (or finish) before messaging again",
            "loop_guard",
        )
    to = text(a["to"]).strip()
    if to == "all":
        recipients = [x["id"] for x in ctx.store.list_agents(ctx.swarm_id) if x["id"] != me]
        if not recipients:
            return error("there is nobody else in the swarm yet")
    else:
        recipients = [ctx.lead_id if to == "lead" else to]
    if me in recipients:
        return error("you cannot message yourself")
    rule = board.send_message(
        ctx.swarm_id, me, recipients, text(a["body"]), ctx.tool_use_id, trace=ctx.trace
    )
    return _rule(ctx, "send_message", rule)


def _create_task(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    tid = text(a.get("id")) or "t-" + hashlib.sha1(ctx.tool_use_id.encode()).hexdigest()[:8]
    blocked_by = list(dict.fromkeys(text(b) for b in seq(a.get("blocked_by"))))
    if tid in blocked_by:
        return error(f"task {tid} cannot be blocked by itself")
    owner = _str_or_none(a.get("owner"))
    if owner == "me":
        owner = me
    elif owner == "lead":
        owner = ctx.lead_id
    rule = board.create_task(
        ctx.swarm_id,
        me,
        tid,
        title=text(a["title"]),
        description=text(a.get("description")),
        owner=owner,
        blocked_by=blocked_by,
        max_tasks=ctx.settings.max_tasks,
    )
    return _rule(ctx, "create_task", rule)


def _claim_task(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    return _rule(ctx, "claim_task", board.claim_task(ctx.swarm_id, me, text(a["task_id"])))


def _complete_task(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    rule = board.complete_task(ctx.swarm_id, me, ctx.lead_id, text(a["task_id"]), text(a["result"]))
    return _rule(ctx, "complete_task", rule)


def _update_task(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    rule = board.update_task(ctx.swarm_id, me, text(a["task_id"]), a, lead=ctx.lead_id)
    return _rule(ctx, "update_task", rule)


def _list_tasks(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    owner = _str_or_none(a.get("owner"))
    owner = me if owner == "me" else (ctx.lead_id if owner == "lead" else owner)
    limit = bounded_int(a.get("limit"), 1, 50)  # the schema bounds it alike
    tasks = ctx.store.list_tasks(
        ctx.swarm_id,
        status=_str_or_none(a.get("status")),
        owner=owner,
        limit=20 if limit is None else limit,
    )
    return EffectResult({"tasks": [as_json(t) for t in tasks], "count": len(tasks)})


def _spawn_agent(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    spec = team.SpawnSpec(
        name=text(a["name"]),
        role=text(a.get("role")),
        instructions=text(a["instructions"]),
        model=text(a.get("model")) or ctx.agent.get("model") or ctx.settings.default_model,
    )
    if "tools" in a:
        try:
            asked = dict(a["tools"]) if isinstance(a["tools"], dict) else a["tools"]
            handed = asked.pop("mcp", None) if isinstance(asked, dict) else None
            tools = server_tools.validate(asked)
            if handed is not None:
                mine = external.of_agent(ctx.agent, ctx.swarm)
                tools["mcp"] = [as_json(s) for s in external.hand(handed, mine)]
            spec["tools"] = tools
        except UserError as e:
            return error(str(e))
    if spec["name"] in ("lead", "all", "me", "human", "system"):
        return error(f"{spec['name']!r} is reserved; choose another name")
    s = ctx.settings
    # Its first call's worst case, for the first allowance the spawn grants with it: its
    # instructions plus the system prompt and tools (a generous bound; a call that needs
    # more tops up on its own).
    first_call = budgets.worst_case(
        spec["model"],
        budgets.FIRST_CALL_BYTES + len(spec["instructions"].encode()),
        s.max_tokens,
        s.pricing_tariff,
    )
    first_call["turns"] = 1
    rule = team.spawn_agent(
        ctx.swarm_id,
        ctx.agent,
        spec,
        max_agents=s.max_agents,
        max_depth=s.max_spawn_depth,
        first_call=first_call,
        daily_cap_usd=s.daily_usd_cap,
        day=budgets.today(),
    )
    return ctx.store.effect(ctx.swarm_id, ctx.tool_use_id, "spawn_agent", rule)


def _write_artifact(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    path = clean_path(text(a["path"]))
    data = text(a["content"]).encode()
    # Content-addressed: a replay writes the same object again, harmlessly.
    obj = ctx.workspace.put(ctx.swarm_id, data)
    expected = bounded_int(a.get("expected_version"), 0, sys.maxsize)
    rule = board.write_artifact(ctx.swarm_id, me, path, obj, len(data), expected)
    return _rule(ctx, "write_artifact", rule)


def _read_artifact(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    meta = ctx.store.get_artifact(ctx.swarm_id, clean_path(text(a["path"])))
    content = ctx.workspace.get(meta["object"]).decode(errors="replace")
    return EffectResult({"path": meta["path"], "version": meta["version"], "content": content})


def _list_artifacts(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    items = ctx.store.list_artifacts(ctx.swarm_id, text(a.get("prefix")))
    return EffectResult({"artifacts": [as_json(x) for x in items], "count": len(items)})


def _request_approval(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    approval_id = "ap-" + hashlib.sha1(ctx.tool_use_id.encode()).hexdigest()[:10]
    action, detail = text(a["action"]), text(a.get("detail"))
    rule = team.request_approval(ctx.swarm_id, me, approval_id, action, detail)
    return ctx.store.effect(ctx.swarm_id, ctx.tool_use_id, "request_approval", rule)


def _finish_swarm(ctx: ToolContext, me: str, a: JSONObject) -> EffectResult:
    outcome = text(a.get("outcome"), "completed")
    # The day whose global cap the unspent allowances go back to.
    rule = team.finish_swarm(ctx.swarm_id, me, outcome, text(a["summary"]), day=budgets.today())
    return ctx.store.effect(ctx.swarm_id, ctx.tool_use_id, "finish_swarm", rule)


def _str_or_none(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


_HANDLERS = {
    "send_message": _send_message,
    "create_task": _create_task,
    "claim_task": _claim_task,
    "complete_task": _complete_task,
    "update_task": _update_task,
    "list_tasks": _list_tasks,
    "spawn_agent": _spawn_agent,
    "write_artifact": _write_artifact,
    "read_artifact": _read_artifact,
    "list_artifacts": _list_artifacts,
    "request_approval": _request_approval,
    "finish_swarm": _finish_swarm,
}
