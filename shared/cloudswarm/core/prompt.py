"""What the model sees: the system prompt, each turn's opening message, the request."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cloudswarm.core import server_tools
from cloudswarm.core.records import Doc
from cloudswarm.core.tool_specs import LEAD_ONLY, TOOLS

CACHE = {"type": "ephemeral"}

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


def system_prompt(agent: Doc, goal: str) -> str:
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
    role: str, server: Mapping[str, Any] | None = None, external: Sequence[Doc] = ()
) -> list[Doc]:
    """The board's tools for ``role``, then the server tools the agent may use (its ``server``
    set, core/server_tools.py), then its external tools (core/external.py, already judged by
    the policy): nothing else ever reaches a request."""
    tools = [t for t in TOOLS if role == "lead" or t["name"] not in LEAD_ONLY]
    tools = [dict(t) for t in tools] + server_tools.definitions(server or {})
    tools += [dict(t) for t in external]
    tools[-1] = {**tools[-1], "cache_control": CACHE}
    return tools


def turn_message(agent: Doc, swarm_id: str, inbox: list[Doc], board: Doc) -> Doc:
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


def tool_results_message(results: list[tuple[str, Doc, bool]]) -> Doc:
    return {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": tid,
                "content": json.dumps(content, separators=(",", ":")),
                **({"is_error": True} if is_error else {}),
            }
            for tid, content, is_error in results
        ],
    }


def build_request(
    *, model: str, max_tokens: int, system: str, tools: list[Doc], messages: list[Doc]
) -> Doc:
    """The Messages request with at most three cache breakpoints: tools, system, and the newest
    message, so every call re-reads the stable prefix from the cache."""
    msgs = [dict(m) for m in messages]
    if msgs:
        last = dict(msgs[-1])
        content = [dict(b) for b in last["content"]]
        content[-1] = {**content[-1], "cache_control": CACHE}
        last["content"] = content
        msgs[-1] = last
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": [{"type": "text", "text": system, "cache_control": CACHE}],
        "tools": tools,
        "messages": msgs,
    }


def request_bytes(request: Doc) -> int:
    return len(json.dumps(request, separators=(",", ":")).encode())


def ends_with_answer(messages: list[Doc]) -> bool:
    """Whether the conversation's last message is the model's."""
    return bool(messages) and messages[-1]["role"] == "assistant"


def pending_tool_uses(messages: list[Doc]) -> list[Doc]:
    """Tool calls the last assistant message made that have no results yet (a resumed turn)."""
    if not messages or messages[-1]["role"] != "assistant":
        return []
    return [b for b in messages[-1]["content"] if b.get("type") == "tool_use"]
