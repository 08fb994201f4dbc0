"""Context management as data: how a swarm's ``context`` object is checked, the edits a request
carries, and what a compaction does to the conversation.

Two server-side edits of the Messages API (beta), on by default:

- *compaction* (``compact_20260112``): once a request's input reaches ``trigger_tokens``, the API
  summarizes the conversation into a ``compaction`` block at the head of its answer and answers
  from the summary. The block is kept exactly as returned; every message before it is dropped
  from the conversation we keep (the API would drop them anyway), so later requests and their
  worst case stay small. The GCS transcript still holds every earlier request and response.
- *tool-result clearing* (``clear_tool_uses_20250919``): once a request's input reaches its
  trigger (by default above compaction's, so mostly for models that do not compact), the API
  replaces the results of all but the ``keep`` most recent tool uses with a placeholder, in
  that request only. What those results said is on the board and in the
  workspace, where the turn's ``<turn>`` view and ``read_artifact`` reach it again.

A provider without them (Claude on Vertex AI here) gets neither, and a model the API does not
compact for gets no compaction; the turn then has the model summarize older history itself, in
a call of its own (``fold_point``, ``summary_messages``, ``folded``; core/turn.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cloudswarm.core.records import bounded_int
from cloudswarm.core.shapes import JSON, Block, ConvMessage, JSONObject, Request, SwarmDoc, obj, seq
from cloudswarm.errors import UserError

COMPACT = "compact_20260112"
CLEAR = "clear_tool_uses_20250919"
FOLD = "history_summary"  # the fallback's own record in the transcript, not an API edit
SUMMARY_TAG = "<summarize-history/>"  # opens the fallback's request to summarize
BYTES_PER_TOKEN = 4  # the fallback's estimate of a history's tokens from its JSON size
KEEP_SHARE = 4  # a fold keeps the newest messages up to a quarter of the trigger's size
# The beta headers each edit needs (anthropic/types/anthropic_beta_param.py of the pinned SDK).
BETAS = {COMPACT: "compact-2026-01-12", CLEAR: "context-management-2025-06-27"}
# Providers whose API takes ``context_management`` (Vertex AI's does not list it).
SERVER_SIDE = frozenset({"anthropic"})
# Models the provider's compaction docs list (checked 2026-12-07); others get clearing only.
COMPACTION_MODELS = frozenset({"claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7"})
MIN_COMPACTION_TRIGGER = 50_000  # the API's floor for the compaction trigger
MAX_TRIGGER = 1_000_000

# Compaction is the primary strategy: it keeps the conversation bounded and, past the first
# summary, cheap to re-read from the cache. Clearing is for a model the API does not compact
# for, and a backstop: each clearing moves the cached prefix's end, so the next call writes the
# tail again (measured in bench/fig_context.py), which is why its trigger sits above compaction's.
DEFAULTS: dict[str, dict[str, int]] = {
    "compaction": {"trigger_tokens": 50_000},
    "clear_tool_results": {"trigger_tokens": 100_000, "keep": 4, "clear_at_least": 20_000},
}
# What the summary must keep: what an agent needs to go on (the <turn> view carries the rest).
INSTRUCTIONS = (
    "Summarize for yourself, to continue this work after the conversation is cut. Keep: each "
    "task you own or touched, with its id and state; decisions made and why; the paths of "
    "artifacts written or read and what they hold; messages still to answer; open questions. "
    "Drop the bodies of tool results: the task board and the workspace still hold them."
)
OPTIONS: dict[str, dict[str, tuple[int, int]]] = {
    "compaction": {"trigger_tokens": (MIN_COMPACTION_TRIGGER, MAX_TRIGGER)},
    "clear_tool_results": {
        "trigger_tokens": (1_000, MAX_TRIGGER),
        "keep": (0, 100),
        "clear_at_least": (0, MAX_TRIGGER),
    },
}


def _bad(field: str, why: str) -> UserError:
    return UserError(f"context.{field}: {why}", code="invalid_context")


def _int(field: str, value: Any, low: int, high: int) -> int:
    checked = bounded_int(value, low, high)
    if checked is None:
        raise _bad(field, f"an integer from {low} to {high}")
    return checked


def validate(context: Any) -> JSONObject:
    """The normalized ``context`` object (defaults filled in; ``false`` turns an edit off), or
    UserError (422) naming the field at fault."""
    if context is None:
        return {k: dict(v) for k, v in DEFAULTS.items()}
    if not isinstance(context, dict):
        raise UserError("context: an object of edit name to options", code="invalid_context")
    out: JSONObject = {}
    for name in context:
        if name not in OPTIONS:
            raise _bad(name, f"unknown edit; the edits are {', '.join(sorted(OPTIONS))}")
    for name, options in OPTIONS.items():
        spec = context.get(name, {})
        if spec is False:
            out[name] = False
            continue
        if not isinstance(spec, dict):
            raise _bad(name, "an object of options ({} for the defaults), or false for off")
        unknown = sorted(set(spec) - set(options))
        if unknown:
            raise _bad(f"{name}.{unknown[0]}", f"unknown option; takes {', '.join(options)}")
        out[name] = {
            key: _int(f"{name}.{key}", spec.get(key, DEFAULTS[name][key]), low, high)
            for key, (low, high) in options.items()
        }
    return out


def json_schema() -> JSONObject:
    """The JSON Schema of a ``context`` object: every constraint ``validate`` enforces, built
    from the same table (the OpenAPI document states it; a unit test holds the two to the same
    verdicts)."""
    edits: dict[str, JSONObject] = {}
    for name, options in OPTIONS.items():
        one: JSONObject = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                key: {"type": "integer", "minimum": low, "maximum": high}
                for key, (low, high) in options.items()
            },
        }
        edits[name] = {"anyOf": [one, {"const": False}]}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": edits,
        "description": "Context edits (compaction, tool-result clearing); absent: the defaults, "
        "false: off. See docs/api.md (context management).",
    }


def of_swarm(swarm: SwarmDoc) -> JSONObject:
    """A swarm's context settings; one created before this setting existed gets the defaults."""
    return dict(swarm.get("context") or validate(None))


def edits(settings: Mapping[str, JSON], provider: str, model: str) -> list[JSONObject]:
    """The ``context_management.edits`` for a call: none where the provider lacks them, and no
    compaction for a model the API does not compact for."""
    if provider not in SERVER_SIDE:
        return []
    out: list[JSONObject] = []
    # Compaction first: it is measured on the whole context, so the conversation we keep is
    # bounded; clearing then thins what grows between compactions.
    compaction = obj(settings.get("compaction"))
    if compaction and _model_base(model) in COMPACTION_MODELS:
        out.append(
            {
                "type": COMPACT,
                "trigger": {"type": "input_tokens", "value": compaction["trigger_tokens"]},
                "instructions": INSTRUCTIONS,
            }
        )
    clear = obj(settings.get("clear_tool_results"))
    if clear:
        out.append(
            {
                "type": CLEAR,
                "trigger": {"type": "input_tokens", "value": clear["trigger_tokens"]},
                "keep": {"type": "tool_uses", "value": clear["keep"]},
                "clear_at_least": {"type": "input_tokens", "value": clear["clear_at_least"]},
            }
        )
    return out


def _model_base(model: str) -> str:
    """The undated id (claude-sonnet-4-6 for claude-sonnet-4-6-20260101 or ...@20260101)."""
    base = model.split("@", 1)[0]
    tail = base.rsplit("-", 1)
    return tail[0] if len(tail) == 2 and len(tail[1]) == 8 and tail[1].isdigit() else base


def with_edits(request: Request, managed: list[JSONObject]) -> Request:
    """``request`` carrying ``managed`` edits; unchanged without any."""
    if not managed:
        return request
    return {**request, "context_management": {"edits": managed}}


def betas(request: Request) -> list[str]:
    """The beta headers a request's edits need, in a stable order."""
    kinds = {obj(e).get("type") for e in _edits_sent(request)}
    return sorted(BETAS[k] for k in kinds if isinstance(k, str))


def _edits_sent(request: Request) -> Sequence[JSON]:
    return seq((request.get("context_management") or {}).get("edits"))


def compacts(request: Request) -> bool:
    """Whether the API may compact this request's context (its worst case counts that)."""
    return any(obj(e).get("type") == COMPACT for e in _edits_sent(request))


def is_compaction(block: Block) -> bool:
    return block.get("type") == "compaction"


# What the conversation opens with once it is cut at a compaction block. The API drops every
# block before the latest compaction block, this one too; it is there so the conversation opens
# with the user's role, as the Messages API requires of every conversation, whether or not it
# makes an exception for one that opens with a compaction.
COMPACTED_OPENING: ConvMessage = {
    "role": "user",
    "content": [{"type": "text", "text": "(The conversation so far is summarized below.)"}],
}


def since_compaction(messages: list[ConvMessage]) -> list[ConvMessage]:
    """The conversation from its latest compaction on: COMPACTED_OPENING, the assistant
    message that holds the block, kept exactly as the API returned it, and what follows it.
    Unchanged without one (and when it is already cut there)."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m["role"] == "assistant" and any(is_compaction(b) for b in m["content"]):
            return [COMPACTED_OPENING, *messages[i:]]
    return messages


def just_compacted(messages: list[ConvMessage]) -> bool:
    """Whether the conversation is cut at a compaction in its last message (the saved version
    is then the compacted one)."""
    return len(messages) == 2 and any(is_compaction(b) for b in messages[1]["content"])


def applied(response_context: JSONObject | None, content: list[Block]) -> list[JSONObject]:
    """What the API did to a call's context, for the transcript: its ``applied_edits``, plus a
    compaction when the answer opens with one."""
    out = [dict(obj(e)) for e in seq((response_context or {}).get("applied_edits"))]
    if any(is_compaction(b) for b in content):
        out.append({"type": COMPACT})
    return out


# -- the fallback: a summary the model writes in a call of its own --------------------------


def fold_point(messages: list[ConvMessage], keep_bytes: int) -> int | None:
    """Where to fold: the oldest assistant message (after a user message, never the first)
    from which the rest of the conversation fits in ``keep_bytes``; when none does, the newest
    such message. What follows it keeps every tool call with its result (a result answers the
    assistant message just before it). None when there is no such message."""
    size = 0
    found = None
    for i in range(len(messages) - 1, 0, -1):
        size += len(json.dumps(messages[i], separators=(",", ":")).encode())
        if messages[i]["role"] != "assistant" or messages[i - 1]["role"] != "user":
            continue
        if found is not None and size > keep_bytes:
            break
        found = i
    return found


def summary_messages(messages: list[ConvMessage], cut: int) -> list[ConvMessage]:
    """The history before ``cut`` and a request to summarize it, as the last user message."""
    ask: Block = {
        "type": "text",
        "text": f"{SUMMARY_TAG}\n{INSTRUCTIONS} Answer with the summary only.",
    }
    last = messages[cut - 1]
    # The history before an assistant message ends with a user message: the ask joins it.
    return [*messages[: cut - 1], {"role": "user", "content": [*last["content"], ask]}]


def folded(messages: list[ConvMessage], cut: int, summary: list[Block]) -> list[ConvMessage]:
    """The conversation after a fold: one user message holding the summary, said to be one,
    then the messages from ``cut`` on."""
    text = "\n".join(b.get("text", "") for b in summary if b.get("type") == "text").strip()
    head = (
        f"[The {cut} earlier messages of this conversation were summarized by you to keep the "
        "context small; the full record is in the transcript.]\n" + (text or "(no summary)")
    )
    return [{"role": "user", "content": [{"type": "text", "text": head}]}, *messages[cut:]]
