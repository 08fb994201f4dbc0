"""What a scenario policy may know about a request, read from its content alone.

The server keeps no per-agent state: the platform replays turns and delivers duplicates, so every
decision is derived from the conversation in the request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .usage import as_blocks

TURN_RE = re.compile(r"<turn>(.*?)</turn>", re.DOTALL)


@dataclass(frozen=True)
class ToolResult:
    tool_use_id: str
    name: str | None  # of the tool_use it answers, None when that is not in the conversation
    input: dict
    ok: bool
    data: object  # the parsed JSON result; {"text": raw} when it is not JSON


@dataclass
class View:
    turn: dict | None = None  # the latest <turn> payload in the conversation
    last_has_turn: bool = False  # the last user turn holds a <turn>
    last_text: str = ""
    results: list[ToolResult] = field(default_factory=list)  # in the last user turn
    calls: list[tuple[str, dict]] = field(default_factory=list)  # every earlier tool_use

    @property
    def agent(self) -> str | None:
        return (self.turn or {}).get("agent")

    @property
    def role(self) -> str | None:
        return (self.turn or {}).get("role")

    def context(self) -> dict:
        return {
            "turn": self.turn or {},
            "agent": self.agent,
            "role": self.role,
            "last_text": self.last_text,
        }


def _texts(blocks: list) -> list[str]:
    return [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]


def parse_turn(text: str) -> dict | None:
    found = None
    for match in TURN_RE.finditer(text):
        try:
            payload = json.loads(match.group(1))
        except ValueError:
            continue
        if isinstance(payload, dict):
            found = payload
    return found


def _result_data(block: dict) -> tuple[bool, object]:
    content = block.get("content", "")
    raw = content if isinstance(content, str) else "".join(_texts(content))
    try:
        data = json.loads(raw)
    except ValueError:
        data = {"text": raw}
    failed = bool(block.get("is_error")) or (isinstance(data, dict) and "error" in data)
    return not failed, data


def view_of(body: dict) -> View:
    """Read a request that may be malformed for the scenario; never raise on odd content."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    view = View()
    uses: dict[str, tuple[str, dict]] = {}
    # Consecutive user messages are one turn to the API, so the "last user turn" spans them all.
    last_user_start = len(messages)
    while last_user_start > 0 and messages[last_user_start - 1].get("role") == "user":
        last_user_start -= 1
    for index, message in enumerate(messages):
        blocks = [b for b in as_blocks(message.get("content")) if isinstance(b, dict)]
        if message.get("role") == "assistant":
            for b in blocks:
                if b.get("type") == "server_tool_use":  # a rule may ask whether it searched
                    view.calls.append((str(b.get("name")), b.get("input") or {}))
                if b.get("type") == "tool_use":
                    call = (str(b.get("name")), b.get("input") or {})
                    uses[str(b.get("id"))] = call
                    view.calls.append(call)
            continue
        turn = parse_turn("\n".join(_texts(blocks)))
        if turn is not None:
            view.turn = turn
        if index < last_user_start:
            continue
        view.last_has_turn = view.last_has_turn or turn is not None
        view.last_text += "\n".join(_texts(blocks))
        for b in blocks:
            if b.get("type") == "tool_result":
                name, tool_input = uses.get(str(b.get("tool_use_id")), (None, {}))
                ok, data = _result_data(b)
                view.results.append(
                    ToolResult(str(b.get("tool_use_id")), name, tool_input, ok, data)
                )
    return view
