"""Context management as the Messages API runs it (beta): the edits checked, the clearing edit
and the compaction trigger applied to the request received, compaction blocks issued and sealed.

- ``clear_tool_uses_20250919``: once the request's input reaches the trigger, the results of all
  but the ``keep`` most recent tool uses are replaced by a placeholder, if that clears at least
  ``clear_at_least`` tokens; reported in ``context_management.applied_edits``.
- ``compact_20260112``: once the (cleared) request's input reaches the trigger, the context is
  summarized into a ``compaction`` block (its text from scenario data) that opens the answer; the
  answer is read from the summary. The compaction's own usage is a ``compaction`` entry of
  ``usage.iterations``, apart from the top-level fields, as the API reports it.
- A request holding a compaction block is read from its latest one on (the API drops what came
  before). A block is sealed (an HMAC over its content, in ``signature``), so one altered on its
  way back is refused with 400, as the real API refuses a tampered block.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets

from .errors import invalid
from .usage import as_blocks, compact, count_input_tokens, tokens_of

COMPACT = "compact_20260112"
CLEAR = "clear_tool_uses_20250919"
BETAS = {COMPACT: "compact-2026-01-12", CLEAR: "context-management-2025-06-27"}
EDIT_KEYS = {
    COMPACT: {"type", "trigger", "instructions", "pause_after_compaction"},
    CLEAR: {"type", "trigger", "keep", "clear_at_least", "exclude_tools", "clear_tool_inputs"},
}
COMPACTION_MODELS = ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7")
MIN_COMPACTION_TRIGGER = 50_000
DEFAULT_COMPACTION_TRIGGER = 150_000
PLACEHOLDER = "[tool result cleared to save context]"
_KEY = secrets.token_bytes(32)


def _seal(content: str) -> str:
    return hmac.new(_KEY, content.encode(), hashlib.sha256).hexdigest()


def _value(spec, where: str, kinds: tuple[str, ...]) -> tuple[str, int]:
    if not isinstance(spec, dict) or spec.get("type") not in kinds:
        raise invalid(f"{where}.type: Input should be " + " or ".join(f"'{k}'" for k in kinds))
    value = spec.get("value")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid(f"{where}.value: Input should be a valid integer")
    return spec["type"], value


def edits_of(body: dict, betas: str | None, model: str) -> list[dict]:
    """The request's edits, checked: their shape, the beta headers they need, the model."""
    cm = body.get("context_management")
    if cm is None:
        return []
    if not isinstance(cm, dict) or set(cm) - {"edits"} or not isinstance(cm.get("edits"), list):
        raise invalid("context_management: Input should be an object with a list of edits")
    sent = {b.strip() for b in (betas or "").split(",") if b.strip()}
    out = []
    for i, edit in enumerate(cm["edits"]):
        where = f"context_management.edits.{i}"
        kind = edit.get("type") if isinstance(edit, dict) else None
        if kind not in EDIT_KEYS:
            raise invalid(f"{where}.type: Input tag {kind!r} does not match any expected tag")
        for key in edit:
            if key not in EDIT_KEYS[kind]:
                raise invalid(f"{where}.{key}: Extra inputs are not permitted")
        if BETAS[kind] not in sent:
            raise invalid(f"{where}: {kind} requires the anthropic-beta header {BETAS[kind]}")
        if kind == COMPACT:
            if not model.split("@")[0].startswith(COMPACTION_MODELS):
                raise invalid(f"{where}: compaction is not supported for model {model}")
            if edit.get("trigger") is not None:
                _, value = _value(edit["trigger"], f"{where}.trigger", ("input_tokens",))
                if value < MIN_COMPACTION_TRIGGER:
                    raise invalid(
                        f"{where}.trigger.value: must be at least {MIN_COMPACTION_TRIGGER}"
                    )
        else:
            if "trigger" in edit:
                _value(edit["trigger"], f"{where}.trigger", ("input_tokens", "tool_uses"))
            if "keep" in edit:
                _value(edit["keep"], f"{where}.keep", ("tool_uses",))
            if edit.get("clear_at_least") is not None:
                _value(edit["clear_at_least"], f"{where}.clear_at_least", ("input_tokens",))
        out.append(edit)
    if sum(e["type"] == COMPACT for e in out) > 1 or sum(e["type"] == CLEAR for e in out) > 1:
        raise invalid("context_management.edits: each edit may be given once")
    return out


def compaction_block(summary: str) -> dict:
    return {"type": "compaction", "content": summary, "signature": _seal(summary)}


def check_block(block: dict, where: str) -> None:
    """Refuse a compaction block that is not as this server issued it."""
    content = block.get("content")
    if content is None:
        return  # a failed compaction: a no-op the API accepts back
    if not isinstance(content, str) or not content:
        raise invalid(f"{where}.content: Input should be a non-empty string or null")
    sig = block.get("signature")
    if not isinstance(sig, str) or not hmac.compare_digest(sig, _seal(content)):
        raise invalid(f"{where}: the compaction block was modified; send it back as returned")


def from_latest_compaction(body: dict) -> dict:
    """The request as the API reads it: from the message holding the latest compaction on."""
    messages = body.get("messages") or []
    for i in range(len(messages) - 1, 0, -1):
        if messages[i].get("role") == "assistant" and any(
            isinstance(b, dict) and b.get("type") == "compaction"
            for b in as_blocks(messages[i].get("content"))
        ):
            return {**body, "messages": messages[i:]}
    return body


def _tool_uses(messages: list) -> list[tuple[str, str]]:
    """(id, name) of every tool_use, oldest first."""
    return [
        (b["id"], b.get("name", ""))
        for m in messages
        if m.get("role") == "assistant"
        for b in as_blocks(m.get("content"))
        if isinstance(b, dict) and b.get("type") == "tool_use"
    ]


def clear_tool_uses(body: dict, edit: dict) -> tuple[dict, dict | None]:
    """``body`` with old tool results cleared, and the applied edit; unchanged (None) when the
    trigger is not reached or too little would be cleared."""
    messages = body.get("messages") or []
    uses = _tool_uses(messages)
    kind, trigger = (edit.get("trigger") or {}).get("type", "input_tokens"), 0
    trigger = (edit.get("trigger") or {}).get("value", 100_000)
    reached = len(uses) if kind == "tool_uses" else count_input_tokens(body)
    if reached < trigger:
        return body, None
    keep = (edit.get("keep") or {}).get("value", 3)
    excluded = set(edit.get("exclude_tools") or [])
    older = uses[: max(0, len(uses) - keep)]
    targets = {tid for tid, name in older if name not in excluded}
    out = copy.deepcopy(body)
    cleared = tokens = 0
    for m in out["messages"]:
        if m.get("role") != "user" or not isinstance(m.get("content"), list):
            continue
        for b in m["content"]:
            if b.get("type") != "tool_result" or b.get("tool_use_id") not in targets:
                continue
            if b.get("content") == PLACEHOLDER:
                continue
            before = tokens_of(compact(b))
            b["content"] = PLACEHOLDER
            tokens += before - tokens_of(compact(b))
            cleared += 1
    least = (edit.get("clear_at_least") or {}).get("value", 0)
    if not cleared or tokens < least:
        return body, None
    return out, {"type": CLEAR, "cleared_tool_uses": cleared, "cleared_input_tokens": tokens}


def compaction_due(body: dict, edit: dict) -> bool:
    trigger = (edit.get("trigger") or {}).get("value", DEFAULT_COMPACTION_TRIGGER)
    return count_input_tokens(body) >= trigger


def compacted(body: dict, block: dict) -> dict:
    """What the answer after a compaction reads: the stable prefix and the summary."""
    return {**body, "messages": [{"role": "assistant", "content": [block]}]}
