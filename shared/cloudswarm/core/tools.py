"""Executing the agent tools: validate input, enforce the role server-side, then one effect.

Mutating tools go through ``store.run_effect`` keyed by the tool_use id, so a replayed turn gets
the stored result back instead of a second task, message or artifact. Errors the model can act on
come back as error results, never as exceptions.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from cloudswarm.core.records import EffectResult
from cloudswarm.core.tool_specs import LEAD_ONLY, TOOLS
from cloudswarm.errors import UserError

_SCHEMAS = {t["name"]: t["input_schema"] for t in TOOLS}
_PATH = re.compile(r"^[A-Za-z0-9._\-/ ]+$")


@dataclass(frozen=True)
class ToolContext:
    swarm_id: str
    agent: dict  # the agent document with its "id"
    lead_id: str
    tool_use_id: str
    store: Any
    workspace: Any  # put(swarm_id, data: bytes) -> object name; get(object) -> bytes
    settings: Any
    msgs_since_progress: int = 0


def error(message: str, code: str = "invalid") -> EffectResult:
    return EffectResult({"error": message, "code": code}, is_error=True)


def validate(name: str, args: Any) -> str | None:
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


def execute(ctx: ToolContext, name: str, args: dict) -> EffectResult:
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


def _effect(ctx: ToolContext, name: str, body) -> EffectResult:
    return ctx.store.run_effect(ctx.swarm_id, ctx.tool_use_id, name, body)


def _send_message(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    if ctx.msgs_since_progress >= ctx.settings.max_pair_messages:
        return error(
            f"loop guard: you sent {ctx.msgs_since_progress} messages without any task progress; "
            "make progress on the board (or finish) before messaging again",
            "loop_guard",
        )
    to = a["to"].strip()
    if to == "all":
        recipients = [x["id"] for x in ctx.store.list_agents(ctx.swarm_id) if x["id"] != me]
        if not recipients:
            return error("there is nobody else in the swarm yet")
    else:
        recipients = [ctx.lead_id if to == "lead" else to]
    if me in recipients:
        return error("you cannot message yourself")
    body = ctx.store.send_message_body(ctx.swarm_id, me, recipients, a["body"], ctx.tool_use_id)
    return _effect(ctx, "send_message", body)


def _create_task(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    tid = a.get("id") or "t-" + hashlib.sha1(ctx.tool_use_id.encode()).hexdigest()[:8]
    blocked_by = list(dict.fromkeys(a.get("blocked_by", [])))
    if tid in blocked_by:
        return error(f"task {tid} cannot be blocked by itself")
    owner = a.get("owner")
    if owner == "me":
        owner = me
    elif owner == "lead":
        owner = ctx.lead_id
    fields = {"title": a["title"], "description": a.get("description", ""), "owner": owner}
    body = ctx.store.create_task_body(
        ctx.swarm_id, me, tid, fields, blocked_by, ctx.settings.max_tasks
    )
    return _effect(ctx, "create_task", body)


def _claim_task(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    return _effect(ctx, "claim_task", ctx.store.claim_task_body(ctx.swarm_id, me, a["task_id"]))


def _complete_task(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    body = ctx.store.complete_task_body(ctx.swarm_id, me, ctx.lead_id, a["task_id"], a["result"])
    return _effect(ctx, "complete_task", body)


def _update_task(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    body = ctx.store.update_task_body(ctx.swarm_id, me, a["task_id"], a, lead=ctx.lead_id)
    return _effect(ctx, "update_task", body)


def _list_tasks(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    owner = a.get("owner")
    owner = me if owner == "me" else (ctx.lead_id if owner == "lead" else owner)
    tasks = ctx.store.list_tasks(
        ctx.swarm_id, status=a.get("status"), owner=owner, limit=a.get("limit", 20)
    )
    return EffectResult({"tasks": tasks, "count": len(tasks)})


def _spawn_agent(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    spec = {
        "name": a["name"],
        "role": a.get("role", ""),
        "instructions": a["instructions"],
        "model": a.get("model") or ctx.agent.get("model") or ctx.settings.default_model,
    }
    if spec["name"] in ("lead", "all", "me", "human", "system"):
        return error(f"{spec['name']!r} is reserved; choose another name")
    body = ctx.store.spawn_agent_body(
        ctx.swarm_id,
        ctx.agent,
        spec,
        max_agents=ctx.settings.max_agents,
        max_depth=ctx.settings.max_spawn_depth,
    )
    return _effect(ctx, "spawn_agent", body)


def _write_artifact(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    path = clean_path(a["path"])
    data = a["content"].encode()
    # Content-addressed: a replay writes the same object again, harmlessly.
    obj = ctx.workspace.put(ctx.swarm_id, data)
    body = ctx.store.write_artifact_body(
        ctx.swarm_id, me, path, obj, len(data), a.get("expected_version")
    )
    return _effect(ctx, "write_artifact", body)


def _read_artifact(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    meta = ctx.store.get_artifact(ctx.swarm_id, clean_path(a["path"]))
    content = ctx.workspace.get(meta["object"]).decode(errors="replace")
    return EffectResult({"path": meta["path"], "version": meta["version"], "content": content})


def _list_artifacts(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    items = ctx.store.list_artifacts(ctx.swarm_id, a.get("prefix", ""))
    return EffectResult({"artifacts": items, "count": len(items)})


def _request_approval(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    approval_id = "ap-" + hashlib.sha1(ctx.tool_use_id.encode()).hexdigest()[:10]
    body = ctx.store.request_approval_body(
        ctx.swarm_id, me, approval_id, a["action"], a.get("detail", "")
    )
    return _effect(ctx, "request_approval", body)


def _finish_swarm(ctx: ToolContext, me: str, a: dict) -> EffectResult:
    body = ctx.store.finish_swarm_body(
        ctx.swarm_id, me, a.get("outcome", "completed"), a["summary"]
    )
    return _effect(ctx, "finish_swarm", body)


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
