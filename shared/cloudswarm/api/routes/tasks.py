"""The task board: read it, add to it, cancel a task."""

from __future__ import annotations

import uuid

from cloudswarm import runtime
from cloudswarm.api import ops
from cloudswarm.api.errors import ApiError
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import TaskCreate, TaskList, TaskOut, TaskQuery
from cloudswarm.gcp.fs import translated


@route("GET", "/api/swarms/{sid}/tasks", tag="tasks", query=TaskQuery, response=TaskList)
def list_tasks(call: Call, sid: str):
    """Tasks, newest first, optionally by status or owner."""
    ops.swarm(sid)
    q = call.query
    return {"tasks": runtime.store().list_tasks(sid, status=q.status, owner=q.owner, limit=q.limit)}


@route("GET", "/api/swarms/{sid}/tasks/{tid}", tag="tasks", response=TaskOut)
def get_task(call: Call, sid: str, tid: str):
    """One task with its description, dependencies and result."""
    with translated("get task"):
        snap = runtime.store().p.task(sid, tid).get()
    if not snap.exists:
        raise ApiError(404, "not_found", f"task {tid} does not exist in swarm {sid}")
    return {"id": tid, **snap.to_dict()}


@route(
    "POST", "/api/swarms/{sid}/tasks", tag="tasks", role="operator", body=TaskCreate,
    response=TaskOut, status=201, errors=(409,),
)  # fmt: skip
def create_task(call: Call, sid: str):
    """Add a task to the board; its owner (if any) is told when it is ready."""
    ops.running_swarm(sid)
    b = call.body
    tid = b.id or "t-" + uuid.uuid4().hex[:8]
    fields = {"title": b.title, "description": b.description, "owner": b.owner}
    body = runtime.store().create_task_body(
        sid,
        f"human:{call.principal.actor}",
        tid,
        fields,
        list(dict.fromkeys(b.blocked_by)),
        runtime.settings().max_tasks,
    )
    return ops.apply(sid, body).content["task"]


@route(
    "POST", "/api/swarms/{sid}/tasks/{tid}/cancel", tag="tasks", role="operator",
    response=TaskOut, errors=(409,),
)  # fmt: skip
def cancel_task(call: Call, sid: str, tid: str):
    """Cancel a task; tasks waiting on it are re-evaluated and their owners told."""
    swarm = ops.swarm(sid)
    body = runtime.store().update_task_body(
        sid,
        f"human:{call.principal.actor}",
        tid,
        {"status": "cancelled"},
        lead=swarm.get("lead_id", "lead"),
    )
    return ops.apply(sid, body).content["task"]
