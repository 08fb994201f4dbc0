"""The task board: read it, add to it, cancel a task."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import TaskCreate, TaskList, TaskOut, TaskQuery
from cloudswarm.core import board
from cloudswarm.core.decisions import Rule


@route("GET", "/api/swarms/{sid}/tasks", tag="tasks", query=TaskQuery, response=TaskList)
def list_tasks(call: Call, sid: str):
    """Tasks, newest first, optionally by status or owner."""
    call.services.store.get_swarm(sid)
    q = call.query
    return {
        "tasks": call.services.store.list_tasks(sid, status=q.status, owner=q.owner, limit=q.limit)
    }


@route("GET", "/api/swarms/{sid}/tasks/{tid}", tag="tasks", response=TaskOut)
def get_task(call: Call, sid: str, tid: str):
    """One task with its description, dependencies and result."""
    return call.services.store.get_task(sid, tid)


@route(
    "POST", "/api/swarms/{sid}/tasks", tag="tasks", role="operator", body=TaskCreate,
    response=TaskOut, status=201, errors=(409,),
)  # fmt: skip
def create_task(call: Call, sid: str):
    """Add a task to the board; its owner (if any) is told when it is ready."""
    call.services.store.running_swarm(sid)
    b = call.body
    rule = board.create_task(
        sid,
        f"human:{call.principal.actor}",
        b.id or "t-" + uuid.uuid4().hex[:8],
        title=b.title,
        description=b.description,
        owner=b.owner,
        blocked_by=b.blocked_by,
        max_tasks=call.services.settings.max_tasks,
    )
    return _apply(call, sid, rule, "create task")["task"]


@route(
    "POST", "/api/swarms/{sid}/tasks/{tid}/cancel", tag="tasks", role="operator",
    response=TaskOut, errors=(409,),
)  # fmt: skip
def cancel_task(call: Call, sid: str, tid: str):
    """Cancel a task; tasks waiting on it are re-evaluated and their owners told."""
    swarm = call.services.store.get_swarm(sid)
    actor = f"human:{call.principal.actor}"
    rule = board.cancel_task(sid, actor, tid, lead=swarm.get("lead_id", "lead"))
    return _apply(call, sid, rule, "cancel task")["task"]


def _apply(call: Call, sid: str, rule: Rule, what: str) -> Mapping[str, Any]:
    """Carry out a board rule for a human (its refusal raises as its error), then ring whom it
    told."""
    decision = call.services.store.apply(rule, what=what)
    for aid in decision.ring:
        call.services.bus.ring(sid, aid)
    return decision.result
