"""The team's rules: spawning teammates, approval gates, stopping an agent, finishing the swarm.

Each is a pure function to a decision (``cloudswarm.core.decisions``); the stores carry it out,
the tools once per tool_use id (``store.effect``), the API directly (``store.apply``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypedDict

from cloudswarm.core import budget, external, paths, server_tools
from cloudswarm.core.decisions import (
    SERVER_TIME,
    Decision,
    Increment,
    Outcome,
    Reader,
    Refusal,
    Rule,
    Write,
    add,
    set_doc,
    update,
)
from cloudswarm.core.documents import event_doc, message_doc, new_agent_doc
from cloudswarm.core.models import AgentStatus, Role, SwarmStatus, transition
from cloudswarm.core.shapes import AgentDoc, JSONObject, as_json
from cloudswarm.core.swarm_rules import draw_allowance, not_found, return_allowances


class SpawnSpec(TypedDict, total=False):
    """A teammate as its spawner asks for it (``tools``: checked server tools and servers)."""

    name: str
    role: str
    instructions: str
    model: str
    tools: JSONObject


def spawn_agent(
    sid: str,
    parent: AgentDoc,
    spec: SpawnSpec,
    *,
    max_agents: int,
    max_depth: int,
    first_call: Mapping[str, float] | None = None,
    daily_cap_usd: float = 0.0,
    day: str = "",
) -> Rule:
    """A new teammate under ``parent`` (the spawning agent's document with its ``id``), with its
    instructions in its inbox. ``spec``: name, model, instructions, an optional role and an
    optional ``tools`` (server tools, already checked): never more than the spawner has, and the
    spawner's own set when absent.

    With ``first_call`` (the worst case of its first model call) the new agent starts with its
    first allowance, a chunk drawn in this same transaction (``swarm_rules.draw_allowance``), so
    teammates spawned together do not each contend for the budget on their first call. If the
    budget cannot cover it the agent starts with none: its first call asks again and is refused
    then (fail-closed), as it would have been without this."""
    name = spec["name"]
    swarm_path, agent_path = paths.swarm(sid), paths.agent(sid, name)

    def rule(r: Reader) -> Outcome:
        docs = r.get_many([swarm_path, agent_path])
        swarm = docs[swarm_path]
        if swarm is None:
            return not_found(sid)
        if docs[agent_path] is not None:
            return Refusal(
                f"an agent named {name} already exists; choose another name", "conflict", "conflict"
            )
        if swarm.get("agent_count", 0) >= max_agents:
            return Refusal(
                f"this swarm already has {max_agents} agents, the maximum", "conflict", "conflict"
            )
        depth = parent.get("depth", 0) + 1
        if depth > max_depth:
            return Refusal(
                f"spawn depth {depth} exceeds the limit of {max_depth}", "forbidden", "forbidden"
            )
        doc = new_agent_doc(
            name=name,
            role=Role.TEAMMATE,
            model=spec["model"],
            instructions=spec["instructions"],
            parent_id=parent["id"],
            depth=depth,
        )
        doc["role_description"] = spec.get("role", "")
        mine = server_tools.of_agent(parent, swarm)
        tools = spec.get("tools", mine)
        too_wide = server_tools.wider(tools, mine) or external.wider(
            external.servers(tools.get("mcp")), external.of_agent(parent, swarm)
        )
        if too_wide:
            return Refusal(
                f"{name} may not have more server tools than you: {too_wide}",
                "forbidden",
                "forbidden",
            )
        doc["tools"] = dict(tools)
        granted: list[Write] = []
        if first_call:
            need = budget.capped(dict(first_call), dict(swarm.get("budget") or {}))
            chunk = budget.chunk(
                dict(swarm.get("budget") or {}),
                need,
                swarm.get("agent_count", 1) + 1,
                daily_cap_usd,
            )
            drawn = draw_allowance(
                r, sid, name, swarm, doc, need, chunk, daily_cap_usd=daily_cap_usd, day=day
            )
            if not isinstance(drawn, Refusal):
                grant, granted = drawn
                doc["allowance"] = {**doc["allowance"], **grant}
        return Decision(
            result={"agent": name, "status": "started"},
            writes=(
                *granted,
                set_doc(agent_path, doc),
                update(swarm_path, {"agent_count": Increment(1)}),
                set_doc(
                    paths.message(sid, f"spawned-{name}"),
                    message_doc(
                        parent["id"],
                        name,
                        f"You were started by {parent['id']}. "
                        f"Your instructions: {spec['instructions']}",
                        "system",
                    ),
                ),
                add(
                    paths.events(sid),
                    event_doc(
                        "agent_spawned",
                        parent["id"],
                        f"{parent['id']} spawned {name}",
                        {"agent": name},
                    ),
                ),
            ),
            ring=(name,),
        )

    return rule


def request_approval(
    sid: str,
    agent_id: str,
    approval_id: str,
    action: str,
    detail: str,
    call: Mapping[str, Any] | None = None,
) -> Rule:
    """An agent asks a human; its turn ends and it waits for the decision in its inbox. ``call``:
    the external call (server, tool, arguments) that runs, exactly so, once approved."""

    def rule(r: Reader) -> Outcome:
        return Decision(
            result={
                "approval": approval_id,
                "status": "pending",
                "note": "Your turn ends now; the decision will arrive in your inbox.",
            },
            writes=(
                set_doc(
                    paths.approval(sid, approval_id),
                    {
                        "agent_id": agent_id,
                        "action": action,
                        "detail": detail,
                        "status": "pending",
                        "created_at": SERVER_TIME,
                        "decided_by": None,
                        "comment": None,
                        "call": dict(call) if call is not None else None,
                    },
                ),
                update(
                    paths.agent(sid, agent_id),
                    {"status": "waiting_approval", "activity": f"waiting for approval: {action}"},
                ),
                add(
                    paths.events(sid),
                    event_doc(
                        "approval_requested",
                        agent_id,
                        f"{agent_id} asks to: {action}",
                        {"approval": approval_id},
                    ),
                ),
            ),
            ends_turn=True,
        )

    return rule


def decide_approval(
    sid: str, approval_id: str, *, approve: bool, actor: str, comment: str, at: dt.datetime
) -> Rule:
    """A human's decision: recorded once, and delivered to the agent's inbox. Only an agent
    still waiting is woken: a failed or finished one stays as it is. Result: the approval as
    decided, with its ``id``; ``ring`` names the agent to wake."""
    approval_path = paths.approval(sid, approval_id)

    def rule(r: Reader) -> Outcome:
        d = r.get(approval_path)
        if d is None:
            return Refusal(f"approval {approval_id} does not exist", "not_found", "not_found")
        if d["status"] != "pending":
            return Refusal(
                f"approval {approval_id} was already {d['status']}", "conflict", "conflict"
            )
        status = "approved" if approve else "rejected"
        agent_path = paths.agent(sid, d["agent_id"])
        agent = r.get(agent_path)
        decision: JSONObject = {
            "status": status,
            "decided_by": actor,
            "comment": comment,
            "decided_at": at,
        }
        wake = agent is not None and agent.get("status") == "waiting_approval"
        body = f"Your request '{d['action']}' was {status} by {actor}."
        if comment:
            body += f" Comment: {comment}"
        return Decision(
            result={**as_json(d), **decision, "id": approval_id},
            writes=(
                update(approval_path, decision),
                *(
                    (update(agent_path, {"status": "idle", "activity": f"approval {status}"}),)
                    if wake
                    else ()
                ),
                set_doc(
                    paths.message(sid, f"approval-{approval_id}"),
                    message_doc(
                        f"human:{actor}",
                        d["agent_id"],
                        body,
                        "approval",
                        approval=approval_id,
                        approved=approve,
                        **({"call": d["call"]} if d.get("call") else {}),
                    ),
                ),
                add(
                    paths.events(sid),
                    event_doc(f"approval_{status}", actor, body, {"approval": approval_id}),
                ),
            ),
            ring=(d["agent_id"],),
        )

    return rule


def stop_agent(sid: str, aid: str, actor: str) -> Rule:
    """Stop one agent for good (a human's move); stopping a stopped agent changes nothing.
    Result: the agent document as it is now, with its ``id``."""
    agent_path = paths.agent(sid, aid)

    def rule(r: Reader) -> Outcome:
        d = r.get(agent_path)
        if d is None:
            return Refusal(f"agent {aid} does not exist in swarm {sid}", "not_found", "not_found")
        cur = AgentStatus(d.get("status", "idle"))
        if cur == AgentStatus.STOPPED:
            return Decision(result={"id": aid, **as_json(d)})
        transition(cur, AgentStatus.STOPPED, what=f"agent {aid}")
        upd: JSONObject = {
            "status": "stopped",
            "activity": f"stopped by {actor}",
            "stopped_by": actor,
        }
        return Decision(
            result={"id": aid, **as_json(d), **upd},
            writes=(
                update(agent_path, upd),
                add(
                    paths.events(sid),
                    event_doc("agent_stopped", actor, f"{actor} stopped {aid}", {"agent": aid}),
                ),
            ),
        )

    return rule


def finish_swarm(sid: str, actor: str, outcome: str, summary: str, *, day: str) -> Rule:
    """The lead ends the swarm (completed or failed) with a summary; its turn ends with it."""
    new = SwarmStatus.COMPLETED if outcome == "completed" else SwarmStatus.FAILED

    def rule(r: Reader) -> Outcome:
        swarm = r.get(paths.swarm(sid))
        if swarm is None:
            return not_found(sid)
        transition(SwarmStatus(swarm["status"]), new, what="swarm")
        # The finishing agent's turn holds a lease, but the answer that called this tool is
        # already paid for and its turn makes no further call: its allowance goes back too.
        given_back, _ = return_allowances(r, sid, swarm, day, finishing=actor)
        return Decision(
            result={"swarm": sid, "status": new.value},
            writes=(
                *given_back,
                update(
                    paths.swarm(sid),
                    {
                        "status": new.value,
                        "summary": summary,
                        # The summary says why it ended; a reason left from an earlier pause
                        # or resume no longer applies.
                        "status_reason": None,
                        "updated_at": SERVER_TIME,
                        "finished_at": SERVER_TIME,
                    },
                ),
                add(
                    paths.events(sid),
                    event_doc(f"swarm_{new.value}", actor, f"Swarm {new.value}: {summary[:300]}"),
                ),
            ),
            ends_turn=True,
        )

    return rule
