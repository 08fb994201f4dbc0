"""Approval gates: what agents asked to do, and the human decision."""

from __future__ import annotations

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import ApprovalList, ApprovalOut, ApprovalQuery, Decision


@route(
    "GET", "/api/swarms/{sid}/approvals", tag="approvals", query=ApprovalQuery,
    response=ApprovalList,
)  # fmt: skip
def list_approvals(call: Call, sid: str):
    """Approval requests, newest first, optionally by status."""
    call.services.store.get_swarm(sid)
    q = call.query
    return {"approvals": call.services.store.list_approvals(sid, status=q.status, limit=q.limit)}


def _decide(call: Call, sid: str, approval_id: str, approve: bool) -> dict:
    call.services.store.get_swarm(sid)
    comment = (call.body.comment or "").strip()
    d = call.services.store.decide_approval(
        sid, approval_id, approve=approve, actor=call.principal.actor, comment=comment
    )
    # The decision is in the agent's inbox: wake it to read it.
    call.services.bus.ring(sid, d["agent_id"])
    return {**d, "comment": comment or None}


_DECISION = dict(
    tag="approvals", role="operator", body=Decision, body_required=False, response=ApprovalOut,
    errors=(409,),
)  # fmt: skip


@route("POST", "/api/swarms/{sid}/approvals/{approval_id}/approve", **_DECISION)
def approve(call: Call, sid: str, approval_id: str):
    """Approve a pending request; the agent learns it from its inbox."""
    return _decide(call, sid, approval_id, True)


@route("POST", "/api/swarms/{sid}/approvals/{approval_id}/reject", **_DECISION)
def reject(call: Call, sid: str, approval_id: str):
    """Reject a pending request, with an optional comment for the agent."""
    return _decide(call, sid, approval_id, False)
