"""Turn a scenario decision into a Messages API response, and a response into its stream events."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator

from . import context
from .errors import new_id
from .scenario import Decision, Scenario
from .server_tools import USE_NAME, Containers, citation, is_server_tool, result_for, seal
from .usage import InputUsage, PromptCache, count_output_tokens, tokens_of

CHARS_PER_TOKEN = 4


def _server_blocks(body: dict, decision: Decision, notes: list[str]) -> tuple[list[dict], dict]:
    """The server tools' use and result blocks, sealed, and the searches and fetches they made.
    Only tools the request defines run, as with the real API."""
    defs = {t.get("name"): t for t in body.get("tools") or [] if is_server_tool(t)}
    blocks: list[dict] = []
    used: dict[str, int] = {}
    counts = {"web_search_requests": 0, "web_fetch_requests": 0}
    for name, tool_input, data in decision.server_uses:
        if name not in defs:
            notes.append(f"dropped undefined server tool {name}")
            continue
        used[name] = used.get(name, 0) + 1
        result = result_for(name, defs[name], tool_input, data, used[name])
        use = {"type": "server_tool_use", "name": USE_NAME[name], "input": tool_input}
        blocks += seal(use, result)
        failed = isinstance(result["content"], dict) and "error_code" in result["content"]
        if name in ("web_search", "web_fetch") and not failed:
            counts[f"{name}_requests"] += 1
    return blocks, counts


def build_message(
    body: dict, decision: Decision, usage_in: InputUsage, containers: Containers | None = None
) -> tuple[dict, str]:
    """The response message, and a note of what the request's options changed in the decision."""
    notes: list[str] = []
    server, counts = _server_blocks(body, decision, notes)
    defined = {t.get("name") for t in body.get("tools") or []}
    uses = [(n, i) for n, i in decision.tool_uses if n in defined or n in decision.forged]
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
    paused = decision.pause_turn and bool(server)
    if paused:
        uses = []  # the turn goes on when the client sends the conversation again
    content: list[dict] = list(server)
    if text:
        cited = [citation(h, str(h.get("text", h["title"]))[:120]) for h in decision.cite]
        content.append({"type": "text", "text": text, **({"citations": cited} if cited else {})})
    content += [
        {"type": "tool_use", "id": new_id("toolu_"), "name": n, "input": i} for n, i in uses
    ]
    if not content:
        content = [{"type": "text", "text": "Nothing to do right now."}]
    stop_reason = "pause_turn" if paused else "tool_use" if uses else "end_turn"
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
    if any(counts.values()):
        message["usage"]["server_tool_use"] = counts
    code = any(b.get("name") == "bash_code_execution" for b in server)
    if containers is not None and (code or body.get("container")):
        message["container"] = containers.take(body.get("container"))
    return message, "; ".join(notes)


def managed_message(
    body: dict,
    edits: list[dict],
    scenario: Scenario,
    cache: PromptCache,
    containers: Containers | None = None,
) -> tuple[dict, Decision, str]:
    """The answer to a request as the API reads it after its context edits (module context),
    applied in the order given: read from its latest compaction on, old tool results cleared
    past their trigger, compacted past its trigger (the answer then reads the summary; the
    model's decision is made on the context the summary closed). Without edits, the plain
    answer."""
    seen = context.from_latest_compaction(body)
    applied: list[dict] = []
    block = None
    for edit in edits:
        if edit["type"] == context.CLEAR and block is None:
            seen, done = context.clear_tool_uses(seen, edit)
            applied += [done] if done else []
        elif edit["type"] == context.COMPACT and context.compaction_due(seen, edit):
            block = context.compaction_block(scenario.summary(seen))
    decision = scenario.decide(seen)
    if block is None:
        usage_in = cache.account(body["model"], seen)
        message, note = build_message(seen, decision, usage_in, containers)
    else:
        closed = cache.account(body["model"], seen)  # the compaction reads the whole context
        after = cache.account(body["model"], context.compacted(seen, block))
        message, note = build_message(seen, decision, after, containers)
        summary_usage = closed.as_usage(tokens_of(block["content"]))
        message["content"].insert(0, block)
        message["usage"]["iterations"] = [
            {"type": "compaction", **_counts(summary_usage)},
            {"type": "message", **_counts(message["usage"])},
        ]
        note = "; ".join(x for x in ("compacted", note) if x)
    if edits:
        message["context_management"] = {"applied_edits": applied}
    return message, decision, note


def _counts(usage: dict) -> dict:
    keys = (
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    )
    return {k: usage[k] for k in keys}


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
                {"type": "citations_delta", "citation": c} for c in block.get("citations", [])
            ]
            deltas += [
                {"type": "text_delta", "text": piece}
                for piece in _chunks(block["text"], max(24, len(block["text"]) // 1000))
            ]
        elif block["type"] not in ("tool_use", "server_tool_use"):
            opening, deltas = block, []  # a server tool's result comes whole in its start event
        else:
            opening = {"type": block["type"], "id": block["id"], "name": block["name"], "input": {}}
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
            "delta": {
                "stop_reason": message["stop_reason"],
                "stop_sequence": None,
                **({"container": message["container"]} if "container" in message else {}),
            },
            "usage": usage,
            **(
                {"context_management": message["context_management"]}
                if "context_management" in message
                else {}
            ),
        },
    )
    yield "message_stop", {"type": "message_stop"}
