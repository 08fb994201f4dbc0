"""Agents of a swarm: read them, message them, stop them."""

from __future__ import annotations

from cloudswarm import runtime, service
from cloudswarm.api import ops
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import AgentList, AgentOut, HumanMessage, MessageSent


@route("GET", "/api/swarms/{sid}/agents", tag="agents", response=AgentList)
def list_agents(call: Call, sid: str):
    """The swarm's agents with status, activity and usage."""
    ops.swarm(sid)
    return {"agents": runtime.store().list_agents(sid, limit=1000)}


@route("GET", "/api/swarms/{sid}/agents/{aid}", tag="agents", response=AgentOut)
def get_agent(call: Call, sid: str, aid: str):
    """One agent."""
    return runtime.store().get_agent(sid, aid)


@route(
    "POST", "/api/swarms/{sid}/agents/{aid}/messages", tag="agents", role="operator",
    body=HumanMessage, response=MessageSent, status=201, errors=(409,),
)  # fmt: skip
def send_message(call: Call, sid: str, aid: str):
    """Put a human message in an agent's inbox and wake it."""
    ops.running_swarm(sid)
    mid = service.send_human_message(sid, aid, call.body.body, actor=call.principal.actor)
    return {"message_id": mid}


@route(
    "POST", "/api/swarms/{sid}/agents/{aid}/stop", tag="agents", role="operator",
    response=AgentOut, errors=(409,),
)  # fmt: skip
def stop_agent(call: Call, sid: str, aid: str):
    """Stop one agent for good; the rest of the swarm goes on."""
    return ops.stop_agent(sid, aid, call.principal.actor)
