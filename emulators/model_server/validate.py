"""Reject what the real Messages API rejects, with its error type and (close to) its message.

A lenient fake would let a malformed conversation pass in tests and fail in production, so the
rules below follow the real API: field types, tool definitions, tool_use/tool_result pairing,
cache breakpoints, empty text, prefill whitespace. Consecutive same-role messages are accepted
(the API merges them), so the pairing rules run on the merged turns.
"""

from __future__ import annotations

import re

from .context import check_block
from .errors import ApiError, invalid
from .server_tools import RESULT_TYPES, check_definition, check_sealed, is_server_tool
from .usage import as_blocks

MODEL_RE = re.compile(r"^claude-[a-z0-9][a-z0-9.-]*$")
# Vertex AI's ids add a snapshot date after an @: claude-sonnet-4-5@20250929.
VERTEX_MODEL_RE = re.compile(r"^claude-[a-z0-9][a-z0-9.-]*(@\d{8})?$")
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_OUTPUT_TOKENS = 128_000
MAX_BREAKPOINTS = 4

TOP_LEVEL = {
    "model", "messages", "max_tokens", "system", "tools", "tool_choice", "stream", "metadata",
    "stop_sequences", "temperature", "top_p", "top_k", "thinking", "service_tier", "container",
    "cache_control", "output_config", "inference_geo", "speed", "diagnostics", "mcp_servers",
    "context_management",
}  # fmt: skip
BLOCK_TYPES = (
    "text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
    "server_tool_use", "compaction", *sorted(RESULT_TYPES),
)  # fmt: skip
# Blocks only the model writes (server tools' blocks come back as the API sent them).
ASSISTANT_ONLY = frozenset(
    {"thinking", "redacted_thinking", "server_tool_use", "compaction", *RESULT_TYPES}
)
TOOL_KEYS = {
    "name", "description", "input_schema", "cache_control", "type", "strict", "input_examples",
    "defer_loading", "eager_input_streaming", "allowed_callers",
}  # fmt: skip
TOOL_CHOICES = ("auto", "any", "tool", "none")


def validate(body: object, *, vertex: bool = False) -> None:
    """Raise ApiError for the first problem found, as the real API reports one at a time.

    ``vertex``: the body came by Vertex AI's paths, its model (from the path) in Vertex's form.
    """
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    for key in body:
        if key not in TOP_LEVEL:
            raise invalid(f"{key}: Extra inputs are not permitted")
    _model(body, VERTEX_MODEL_RE if vertex else MODEL_RE)
    _max_tokens(body)
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid("stream: Input should be a valid boolean")
    breakpoints = _cache_controls_top(body)
    names = _tools(body.get("tools"))
    _tool_choice(body.get("tool_choice"), names, bool(names))
    breakpoints += _system(body.get("system"))
    breakpoints += _messages(body, has_tools=bool(names))
    if breakpoints > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )


def _model(body: dict, pattern: re.Pattern = MODEL_RE) -> None:
    if "model" not in body:
        raise invalid("model: Field required")
    model = body["model"]
    if not isinstance(model, str) or not model:
        raise invalid("model: Input should be a valid string")
    if not pattern.match(model):
        raise ApiError("not_found_error", f"model: {model}")


def _max_tokens(body: dict) -> None:
    if "max_tokens" not in body:
        raise invalid("max_tokens: Field required")
    value = body["max_tokens"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("max_tokens: Input should be a valid integer")
    if value < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    if value > MAX_OUTPUT_TOKENS:
        raise invalid(
            f"max_tokens: {value} > {MAX_OUTPUT_TOKENS}, which is the maximum allowed number of "
            f"output tokens for {body['model']}"
        )


def _cache_control(value, where: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if value.get("ttl", "5m") not in ("5m", "1h"):
        raise invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return 1


def _cache_controls_top(body: dict) -> int:
    return _cache_control(body.get("cache_control"), "body")


def _tools(tools) -> set[str]:
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        if is_server_tool(tool):
            name = check_definition(tool, where)
            _cache_control(tool.get("cache_control"), where)
            if name in names:
                raise invalid("tools: Tool names must be unique.")
            names.add(name)
            continue
        if tool.get("type", "custom") != "custom":
            raise invalid(
                f"{where}: Input tag '{tool.get('type')}' found using 'type' does not match any "
                "of the expected tags: 'custom'"
            )
        for key in tool:
            if key not in TOOL_KEYS:
                raise invalid(f"{where}.{key}: Extra inputs are not permitted")
        name = tool.get("name")
        if not isinstance(name, str):
            raise invalid(f"{where}.name: Field required")
        if not TOOL_NAME_RE.match(name):
            raise invalid(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if "description" in tool and not isinstance(tool["description"], str):
            raise invalid(f"{where}.description: Input should be a valid string")
        schema = tool.get("input_schema")
        if schema is None:
            raise invalid(f"{where}.input_schema: Field required")
        if not isinstance(schema, dict):
            raise invalid(f"{where}.input_schema: Input should be a valid dictionary")
        if schema.get("type") != "object":
            raise invalid(f"{where}.input_schema.type: Input should be 'object'")
        if "properties" in schema and not isinstance(schema["properties"], dict):
            raise invalid(f"{where}.input_schema.properties: Input should be a valid dictionary")
        _cache_control(tool.get("cache_control"), where)
        if name in names:
            raise invalid("tools: Tool names must be unique.")
        names.add(name)
    return names


def _tool_choice(choice, names: set[str], has_tools: bool) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICES:
        raise invalid(
            "tool_choice: Input tag found using 'type' does not match any of the expected tags: "
            + ", ".join(f"'{t}'" for t in TOOL_CHOICES)
        )
    if "disable_parallel_tool_use" in choice and not isinstance(
        choice["disable_parallel_tool_use"], bool
    ):
        raise invalid("tool_choice.disable_parallel_tool_use: Input should be a valid boolean")
    if choice["type"] in ("any", "tool") and not has_tools:
        raise invalid("tool_choice may only be specified while providing tools.")
    if choice["type"] == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise invalid("tool_choice.tool.name: Field required")
        if name not in names:
            raise invalid(f"tool_choice.name: Tool '{name}' not found in tools")


def _text(block: dict, where: str) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text: Field required")
    if not text:
        raise invalid("messages: text content blocks must be non-empty")
    if not text.strip():
        raise invalid("messages: text content blocks must contain non-whitespace text")


def _system(system) -> int:
    if system is None or isinstance(system, str):
        return 0
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or list")
    count = 0
    for i, block in enumerate(system):
        where = f"system.{i}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"{where}.type: Input should be 'text'")
        _text(block, where)
        count += _cache_control(block.get("cache_control"), where)
    return count


def _block(block, role: str, where: str, seen_ids: set[str]) -> int:
    if not isinstance(block, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        raise invalid(
            f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected "
            "tags: " + ", ".join(f"'{t}'" for t in BLOCK_TYPES)
        )
    if kind == "text":
        _text(block, where)
    elif kind == "tool_use":
        if role != "assistant":
            raise invalid(f"{where}: tool_use blocks may only appear in assistant messages")
        tid = block.get("id")
        if not isinstance(tid, str) or not TOOL_ID_RE.match(tid):
            raise invalid(f"{where}.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
        if tid in seen_ids:
            raise invalid(f"{where}: `tool_use` ids must be unique")
        seen_ids.add(tid)
        if not isinstance(block.get("name"), str) or not block["name"]:
            raise invalid(f"{where}.name: Field required")
        if not isinstance(block.get("input"), dict):
            raise invalid(f"{where}.input: Input should be a valid dictionary")
    elif kind == "tool_result":
        if role != "user":
            raise invalid(f"{where}: tool_result blocks may only appear in user messages")
        if not isinstance(block.get("tool_use_id"), str):
            raise invalid(f"{where}.tool_use_id: Field required")
        content = block.get("content", "")
        if isinstance(content, list):
            for j, inner in enumerate(content):
                if not isinstance(inner, dict) or inner.get("type") not in ("text", "image"):
                    raise invalid(f"{where}.content.{j}.type: Input should be 'text' or 'image'")
                if inner["type"] == "text":
                    _text(inner, f"{where}.content.{j}")
        elif not isinstance(content, str):
            raise invalid(f"{where}.content: Input should be a valid string or list")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise invalid(f"{where}.is_error: Input should be a valid boolean")
    elif kind in ASSISTANT_ONLY and role != "assistant":
        raise invalid(f"{where}: {kind} blocks may only appear in assistant messages")
    if kind == "compaction":
        check_block(block, where)
    return _cache_control(block.get("cache_control"), where)


def merged_turns(messages: list[dict]) -> list[tuple[str, list[tuple[int, int, dict]]]]:
    """Consecutive same-role messages as one turn; blocks keep their (message, index) origin."""
    turns: list[tuple[str, list[tuple[int, int, dict]]]] = []
    for i, message in enumerate(messages):
        blocks = [(i, j, b) for j, b in enumerate(as_blocks(message["content"]))]
        if turns and turns[-1][0] == message["role"]:
            turns[-1][1].extend(blocks)
        else:
            turns.append((message["role"], blocks))
    return turns


def _messages(body: dict, has_tools: bool) -> int:
    if "messages" not in body:
        raise invalid("messages: Field required")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    count = 0
    seen_ids: set[str] = set()
    uses_tools = False
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        for key in message:
            if key not in ("role", "content"):
                raise invalid(f"{where}.{key}: Extra inputs are not permitted")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise invalid(f"{where}.content: Field required")
        content = message["content"]
        if not isinstance(content, str | list):
            raise invalid(f"{where}.content: Input should be a valid string or list")
        final_assistant = i == len(messages) - 1 and role == "assistant"
        if not content and not final_assistant:
            raise invalid(
                f"{where}: all messages must have non-empty content except for the optional "
                "final assistant message"
            )
        if isinstance(content, str):
            if content and not final_assistant and not content.strip():
                raise invalid("messages: text content blocks must contain non-whitespace text")
            continue
        for j, block in enumerate(content):
            count += _block(block, role, f"{where}.content.{j}", seen_ids)
            uses_tools = uses_tools or block.get("type") in ("tool_use", "tool_result")
    # Strict: a conversation opens with the user's role, one cut at a compaction block too
    # (whether the API makes an exception for that one is not known here).
    if messages[0]["role"] != "user":
        raise invalid('messages: first message must use the "user" role')
    if uses_tools and not has_tools:
        raise invalid(
            "Requests which include `tool_use` or `tool_result` blocks must define tools."
        )
    _pairing(merged_turns(messages))
    check_sealed(
        [
            (f"messages.{i}.content.{j}", b)
            for i, m in enumerate(messages)
            if isinstance(m["content"], list)
            for j, b in enumerate(m["content"])
            if b.get("type") == "server_tool_use" or b.get("type") in RESULT_TYPES
        ]
    )
    _prefill(messages[-1])
    return count


def _pairing(turns) -> None:
    pending: list[str] = []  # tool_use ids of the previous assistant turn, awaiting results
    pending_at = 0
    for role, blocks in turns:
        if role == "assistant":
            pending = [b["id"] for _, _, b in blocks if b.get("type") == "tool_use"]
            pending_at = blocks[0][0] if blocks else 0
            continue
        answered: set[str] = set()
        after_other = False
        for i, j, block in blocks:
            if block.get("type") != "tool_result":
                after_other = True
                continue
            where = f"messages.{i}.content.{j}"
            tid = block["tool_use_id"]
            if tid not in pending or tid in answered:
                raise invalid(
                    f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tid}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the "
                    "previous message."
                )
            if after_other:
                raise invalid(
                    f"{where}: `tool_result` blocks must come first in the user message, before "
                    "any other content."
                )
            answered.add(tid)
        missing = [t for t in pending if t not in answered]
        if missing:
            raise invalid(
                f"messages.{pending_at}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        pending = []


def _prefill(last: dict) -> None:
    if last["role"] != "assistant" or not last["content"]:
        return
    blocks = as_blocks(last["content"])
    tail = blocks[-1]
    if tail.get("type") == "text" and tail.get("text", "") != tail.get("text", "").rstrip():
        raise invalid("messages: final assistant content cannot end with trailing whitespace")
