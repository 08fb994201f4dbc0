"""Swarms: start, list, read, pause, resume, stop, delete, usage."""

from __future__ import annotations

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
from cloudswarm.core.models import Budget, SwarmStatus


@route(
    "POST", "/api/swarms", tag="swarms", role="operator", body=SwarmCreate,
    response=SwarmCreated, status=201, errors=(404, 409),
)  # fmt: skip
def create_swarm(call: Call):
    """Start a swarm: its lead gets the goal and starts at once. ``template`` names a team
    template (404 when there is none by that name): its lead instructions and roster, and its
    tools and budget unless the body gives them."""
    b = call.body
    sid, _ = call.services.ops.start_swarm(
        b.goal,
        actor=call.principal.actor,
        model=b.model,
        budget=Budget(**b.budget.model_dump()) if b.budget else None,
        team=b.template,
        tools=b.tools,
        context=b.context,
    )
    return {"swarm_id": sid, "status": "running"}


@route("GET", "/api/swarms", tag="swarms", query=SwarmQuery, response=SwarmList, errors=(404,))
def list_swarms(call: Call):
    """Swarms, newest first, a page at a time."""
    q = call.query
    store = call.services.store
    docs, token = store.page_swarms(status=q.status, limit=q.limit, token=q.page_token)
    # A page does not sum every swarm's budget shards: it leaves out the document's own
    # ``granted``, which is not kept up to date (one swarm's read shows the real one).
    shown = [{k: v for k, v in d.items() if k not in STALE} for d in docs]
    return {"swarms": shown, "next_page_token": token}


# Fields a swarm document keeps only as they were created: grants are counted in its budget
# shards (core/shards.py), so that its agents do not all write this one document.
STALE = ("granted", "granted_day")


def _shown(call: Call, doc: dict) -> dict:
    """A swarm as the API shows it: ``granted``, what its agents were handed on each axis, is
    the sum of its budget shards (it falls when an ended swarm's agents give theirs back)."""
    kept = {k: v for k, v in doc.items() if k not in STALE}
    return {**kept, "granted": call.services.store.swarm_granted(doc["id"])}


@route("GET", "/api/swarms/{sid}", tag="swarms", response=SwarmOut)
def get_swarm(call: Call, sid: str):
    """One swarm: goal, status, budget, counters, and what its agents were handed (granted)."""
    return _shown(call, call.services.store.get_swarm(sid))


@route("DELETE", "/api/swarms/{sid}", tag="swarms", role="admin", response=Deleted, errors=(409,))
def delete_swarm(call: Call, sid: str):
    """Delete an ended swarm with its agents, tasks, messages, events and transcripts."""
    s = call.services.settings
    buckets = [s.bucket(logical) for logical in ("transcripts", "artifacts")]
    call.services.store.delete_swarm(sid, blobs=call.services.blobs.client, buckets=buckets)
    return {"id": sid, "deleted": True}


def _status_route(action: str, status: SwarmStatus, doc: str):
    def handler(call: Call, sid: str):
        reason = (call.body.reason or "").strip()
        doc = call.services.ops.set_swarm_status(
            sid, status, actor=call.principal.actor, reason=reason
        )
        return _shown(call, doc)

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
    return call.services.store.usage(sid)
