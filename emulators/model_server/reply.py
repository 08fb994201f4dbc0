"""Turn a scenario decision into a Messages API response, and a response into its stream events."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator

from .errors import new_id
from .scenario import Decision
from .usage import InputUsage, count_output_tokens

CHARS_PER_TOKEN = 4


def build_message(body: dict, decision: Decision, usage_in: InputUsage) -> tuple[dict, str]:
    """The response message, and a note of what the request's options changed in the decision."""
    defined = {t.get("name") for t in body.get("tools") or []}
    uses = [(n, i) for n, i in decision.tool_uses if n in defined]
    notes = []
    if len(uses) < len(decision.tool_uses):
        # A real model only calls tools the request defines (e.g. a teammate has no spawn_agent).
        notes.append(f"dropped {len(decision.tool_uses) - len(uses)} undefined tool_uses")
    choice = body.get("tool_choice") or {}
    text = decision.text
    if choice.get("type") == "none" and uses:
        uses, notes = [], [*notes, "tool_choice none"]
    if choice.get("disable_parallel_tool_use") and len(uses) > 1:
        uses, notes = uses[:1], [*notes, "parallel tool use disabled"]
    if choice.get("type") in ("any", "tool") and uses:
        text = ""  # a forced tool call starts with the tool_use, no preamble
    content: list[dict] = [{"type": "text", "text": text}] if text else []
    content += [
        {"type": "tool_use", "id": new_id("toolu_"), "name": n, "input": i} for n, i in uses
    ]
    if not content:
        content = [{"type": "text", "text": "Nothing to do right now."}]
    stop_reason = "tool_use" if uses else "end_turn"
    content, truncated = _fit(content, body["max_tokens"])
    if truncated:
        stop_reason = "max_tokens"
        notes.append("max_tokens")
    message = {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage_in.as_usage(count_output_tokens(content) if content else 0),
    }
    return message, "; ".join(notes)


def _fit(content: list[dict], max_tokens: int) -> tuple[list[dict], bool]:
    """Cut the answer at max_tokens as the real API does: text mid-way, a tool_use not at all."""
    if count_output_tokens(content) <= max_tokens:
        return content, False
    budget = max_tokens
    kept: list[dict] = []
    for block in content:
        cost = count_output_tokens([block])
        if cost <= budget:
            kept.append(block)
            budget -= cost
            continue
        if block["type"] == "text" and budget > 0:
            kept.append({"type": "text", "text": block["text"][: budget * CHARS_PER_TOKEN]})
        break
    return kept, True


def _chunks(text: str, size: int) -> list[str]:
    """Split at spaces near ``size`` so deltas look like the real model's word-ish pieces."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        space = text.rfind(" ", start + 1, end)
        if end < len(text) and space > start:
            end = space + 1
        out.append(text[start:end])
        start = end
    return out


def stream_events(message: dict) -> Iterator[tuple[str, dict]]:
    """The SSE events of a message in the real API's order (a ping after the first block start)."""
    start = copy.deepcopy(message)
    start.update(content=[], stop_reason=None, stop_sequence=None)
    start["usage"]["output_tokens"] = 1
    yield "message_start", {"type": "message_start", "message": start}
    pinged = False
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            deltas = [
                {"type": "text_delta", "text": piece}
                for piece in _chunks(block["text"], max(24, len(block["text"]) // 1000))
            ]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            raw = json.dumps(block["input"], ensure_ascii=False)
            # A few chunks for a small input, at most ~50 for a large one (an artifact's content).
            size = max(8, math.ceil(len(raw) / (4 if len(raw) < 200 else 50)))
            pieces = [raw[i : i + size] for i in range(0, len(raw), size)]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *pieces]]
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opening},
        )
        if not pinged:
            pinged = True
            yield "ping", {"type": "ping"}
        for delta in deltas:
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    if not pinged:
        yield "ping", {"type": "ping"}
    usage = dict(message["usage"])
    usage.pop("service_tier", None)
    usage.pop("cache_creation", None)
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": usage,
        },
    )
    yield "message_stop", {"type": "message_stop"}
