"""What the model sees: the system prompt, each turn's opening message, the request."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cloudswarm.core import server_tools
from cloudswarm.core.shapes import (
    AgentDoc,
    Block,
    Board,
    ConvMessage,
    JSONObject,
    MessageDoc,
    Request,
    ToolDef,
)
from cloudswarm.core.tool_specs import LEAD_ONLY, TOOLS

CACHE: dict[str, str] = {"type": "ephemeral"}

SYSTEM = """You are {agent}, the {role} of a CloudSwarm team working toward this goal:
{goal}

{duty}
Coordinate only through your tools: the shared task board, messages to teammates, and the shared
workspace of artifacts. Each of your turns starts with a <turn> block (JSON) holding your unread
messages and a compact view of the board. Work until you have nothing left to do this turn, then
answer briefly without calling a tool; you will be woken when new messages arrive.
{instructions}"""

LEAD_DUTY = """As the lead you plan the work: break the goal into tasks with dependencies
(create_task with blocked_by and an owner), spawn the teammates you need (spawn_agent), follow
their progress, and call finish_swarm with a summary when every task is done."""

TEAMMATE_DUTY = """As a teammate you do the tasks assigned to you: claim a ready task, do it,
write what you produce to the workspace (write_artifact), complete it with a short result, and tell
whoever needs to know. Ask the lead when something is unclear."""


def system_prompt(agent: AgentDoc, goal: str) -> str:
    lead = agent.get("role") == "lead"
    extra = agent.get("instructions") or ""
    return SYSTEM.format(
        agent=agent["id"],
        role="lead" if lead else (agent.get("role_description") or "teammate"),
        goal=goal,
        duty=LEAD_DUTY if lead else TEAMMATE_DUTY,
        instructions=f"\nYour instructions: {extra}" if extra else "",
    ).strip()


def tools_for(
    role: str, server: JSONObject | None = None, external: Sequence[ToolDef] = ()
) -> list[ToolDef]:
    """The board's tools for ``role``, then the server tools the agent may use (its ``server``
    set, core/server_tools.py), then its external tools (core/external.py, already judged by
    the policy): nothing else ever reaches a request."""
    tools = [t for t in TOOLS if role == "lead" or t["name"] not in LEAD_ONLY]
    out = [ToolDef(**t) for t in tools] + server_tools.definitions(server or {})
    out += [ToolDef(**t) for t in external]
    out[-1] = {**out[-1], "cache_control": CACHE}
    return out


def turn_message(
    agent: AgentDoc, swarm_id: str, inbox: list[MessageDoc], board: Board
) -> ConvMessage:
    payload = {
        "agent": agent["id"],
        "role": agent.get("role"),
        "swarm": swarm_id,
        "inbox": [
            {"id": m["id"], "from": m.get("from"), "kind": m.get("kind"), "body": m.get("body")}
            for m in inbox
        ],
        "board": board,
    }
    text = "<turn>" + json.dumps(payload, separators=(",", ":")) + "</turn>"
    return {"role": "user", "content": [{"type": "text", "text": text}]}


def tool_results_message(results: list[tuple[str, JSONObject, bool]]) -> ConvMessage:
    return {
        "role": "user",
        "content": [
            Block(
                type="tool_result",
                tool_use_id=tid,
                content=json.dumps(content, separators=(",", ":")),
                **({"is_error": True} if is_error else {}),
            )
            for tid, content, is_error in results
        ],
    }


def build_request(
    *,
    model: str,
    max_tokens: int,
    system: str,
    tools: list[ToolDef],
    messages: list[ConvMessage],
) -> Request:
    """The Messages request with at most three cache breakpoints: tools, system, and the newest
    message, so every call re-reads the stable prefix from the cache."""
    msgs = list(messages)
    if msgs:
        content = list(msgs[-1]["content"])
        content[-1] = {**content[-1], "cache_control": CACHE}
        msgs[-1] = {**msgs[-1], "content": content}
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": [{"type": "text", "text": system, "cache_control": CACHE}],
        "tools": tools,
        "messages": msgs,
    }


def request_bytes(request: object) -> int:
    return len(json.dumps(request, separators=(",", ":")).encode())


def ends_with_answer(messages: list[ConvMessage]) -> bool:
    """Whether the conversation's last message is the model's."""
    return bool(messages) and messages[-1]["role"] == "assistant"


def pending_tool_uses(messages: list[ConvMessage]) -> list[Block]:
    """Tool calls the last assistant message made that have no results yet (a resumed turn)."""
    if not messages or messages[-1]["role"] != "assistant":
        return []
    return [b for b in messages[-1]["content"] if b.get("type") == "tool_use"]
