"""Approval gates: what agents asked to do, and the human decision."""

from __future__ import annotations

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from cloudswarm.api import ops
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import ApprovalList, ApprovalOut, ApprovalQuery, Decision
from cloudswarm.gcp.fs import translated


@route(
    "GET", "/api/swarms/{sid}/approvals", tag="approvals", query=ApprovalQuery,
    response=ApprovalList,
)  # fmt: skip
def list_approvals(call: Call, sid: str):
    """Approval requests, newest first, optionally by status."""
    ops.swarm(sid)
    q = call.query
    query = runtime.store().p.approvals(sid)
    if q.status:
        query = query.where(filter=FieldFilter("status", "==", q.status))
    query = query.order_by("created_at", direction=firestore.Query.DESCENDING).limit(q.limit)
    with translated("list approvals"):
        return {"approvals": [{"id": s.id, **s.to_dict()} for s in query.stream()]}


def _decide(call: Call, sid: str, approval_id: str, approve: bool) -> dict:
    ops.swarm(sid)
    comment = (call.body.comment or "").strip()
    d = runtime.store().decide_approval(
        sid, approval_id, approve=approve, actor=call.principal.actor, comment=comment
    )
    # The decision is in the agent's inbox: wake it to read it.
    runtime.bus().ring(sid, d["agent_id"])
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
