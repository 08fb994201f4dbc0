"""Swarms: start, list, read, pause, resume, stop, delete, usage."""

from __future__ import annotations

from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime, service
from cloudswarm.api import ops
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import (
    Deleted,
    StatusChange,
    SwarmCreate,
    SwarmCreated,
    SwarmList,
    SwarmOut,
    SwarmQuery,
    SwarmUsage,
)
from cloudswarm.core import pricing
from cloudswarm.core.models import Budget, SwarmStatus


@route(
    "POST", "/api/swarms", tag="swarms", role="operator", body=SwarmCreate,
    response=SwarmCreated, status=201,
)  # fmt: skip
def create_swarm(call: Call):
    """Start a swarm: its lead gets the goal and starts at once."""
    b = call.body
    if b.model:
        pricing.canonical_model(b.model)  # an unpriced model could not be held to a budget
    sid, _ = service.start_swarm(
        b.goal,
        actor=call.principal.actor,
        model=b.model,
        budget=Budget(**b.budget.model_dump()) if b.budget else None,
        template=b.template,
    )
    return {"swarm_id": sid, "status": "running"}


@route("GET", "/api/swarms", tag="swarms", query=SwarmQuery, response=SwarmList)
def list_swarms(call: Call):
    """Swarms, newest first, a page at a time."""
    q = call.query
    col = runtime.store().db.collection("swarms")
    query = col.where(filter=FieldFilter("status", "==", q.status)) if q.status else col
    docs, token = ops.page(col, query, "created_at", "desc", q.limit, q.page_token)
    return {"swarms": docs, "next_page_token": token}


@route("GET", "/api/swarms/{sid}", tag="swarms", response=SwarmOut)
def get_swarm(call: Call, sid: str):
    """One swarm: goal, status, budget, counters."""
    return ops.swarm(sid)


@route("DELETE", "/api/swarms/{sid}", tag="swarms", role="admin", response=Deleted, errors=(409,))
def delete_swarm(call: Call, sid: str):
    """Delete an ended swarm with its agents, tasks, messages, events and transcripts."""
    ops.delete_swarm(sid)
    return {"id": sid, "deleted": True}


def _status_route(action: str, status: SwarmStatus, doc: str):
    def handler(call: Call, sid: str):
        reason = (call.body.reason or "").strip()
        return service.set_swarm_status(sid, status, actor=call.principal.actor, reason=reason)

    handler.__name__ = f"{action}_swarm"
    handler.__doc__ = doc
    route(
        "POST", f"/api/swarms/{{sid}}/{action}", tag="swarms", role="operator",
        body=StatusChange, body_required=False, response=SwarmOut, errors=(409,),
    )(handler)  # fmt: skip


_status_route("pause", SwarmStatus.PAUSED, "Pause a running swarm: no new turns start.")
_status_route("resume", SwarmStatus.RUNNING, "Resume a paused swarm; agents with mail wake.")
_status_route("stop", SwarmStatus.KILLED, "Stop a swarm for good (status killed).")


@route("GET", "/api/swarms/{sid}/usage", tag="swarms", response=SwarmUsage)
def get_usage(call: Call, sid: str):
    """Tokens and cost per agent and in total, with the swarm's budget."""
    return ops.usage(sid)
