"""Agents of a swarm: read them, message (or interrupt) them, pause, resume or stop them."""

from __future__ import annotations

from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import AgentList, AgentOut, HumanMessage, MessageSent, StatusChange


@route("GET", "/api/swarms/{sid}/agents", tag="agents", response=AgentList)
def list_agents(call: Call, sid: str):
    """The swarm's agents with status, activity and usage."""
    call.services.store.get_swarm(sid)
    return {"agents": call.services.store.list_agents(sid, limit=1000)}


@route("GET", "/api/swarms/{sid}/agents/{aid}", tag="agents", response=AgentOut)
def get_agent(call: Call, sid: str, aid: str):
    """One agent."""
    return call.services.store.get_agent(sid, aid)


@route(
    "POST", "/api/swarms/{sid}/agents/{aid}/messages", tag="agents", role="operator",
    body=HumanMessage, response=MessageSent, status=201, errors=(409,),
)  # fmt: skip
def send_message(call: Call, sid: str, aid: str):
    """Put a human message in an agent's inbox and wake it. With ``interrupt``, the agent's
    running model call stops within a second and its next turn reads this message first."""
    call.services.store.running_swarm(sid)
    actor = call.principal.actor
    if call.body.interrupt:
        return {
            "message_id": call.services.ops.interrupt_agent(sid, aid, call.body.body, actor=actor)
        }
    mid = call.services.ops.send_human_message(sid, aid, call.body.body, actor=actor)
    return {"message_id": mid}


def _control_route(action: str, doc: str):
    def handler(call: Call, sid: str, aid: str):
        reason = (call.body.reason or "").strip()
        act = getattr(call.services.ops, f"{action}_agent")
        return act(sid, aid, actor=call.principal.actor, reason=reason)

    handler.__name__ = f"{action}_agent"
    handler.__doc__ = doc
    route(
        "POST", f"/api/swarms/{{sid}}/agents/{{aid}}/{action}", tag="agents", role="operator",
        body=StatusChange, body_required=False, response=AgentOut, errors=(409,),
    )(handler)  # fmt: skip


_control_route("pause", "Pause one agent: its running call stops, no turn starts, its mail waits.")
_control_route("resume", "Resume a paused agent; it wakes if it has mail.")


@route(
    "POST", "/api/swarms/{sid}/agents/{aid}/stop", tag="agents", role="operator",
    response=AgentOut, errors=(409,),
)  # fmt: skip
def stop_agent(call: Call, sid: str, aid: str):
    """Stop one agent for good; the rest of the swarm goes on."""
    return call.services.store.stop_agent(sid, aid, call.principal.actor)
