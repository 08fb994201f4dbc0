"""What a turn's spans are called and what they say (OpenTelemetry's GenAI conventions), and
the tracer that records nothing.

A turn is one ``invoke_agent`` span, with a ``chat`` span per model call and an ``execute_tool``
span per tool call inside it. The names and ``gen_ai.*`` attributes follow the GenAI semantic
conventions (opentelemetry-semantic-conventions' ``gen_ai_attributes``); CloudSwarm's own ids
are under ``cloudswarm.*``. Only ids, counts, model names and tool names go into attributes:
prompts, answers and tool inputs only when an operator turns content capture on
(``CLOUDSWARM_TRACE_CONTENT``), because they can hold anything an agent read or wrote.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from cloudswarm.core.ports import AttrValue, TraceSpan
from cloudswarm.core.shapes import AgentDoc, Block, JSONObject, MessageDoc, Request

# The W3C trace context header's value: version-traceid-spanid-flags.
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
# How a turn came to run when it is not a plain doorbell: the watchdog freed a dead turn's
# lease, or a retry task followed a failed one. Carried as doorbell attributes.
REDELIVERIES = frozenset({"watchdog", "retry"})
# gen_ai.provider.name's values for the model providers (the conventions' registry).
PROVIDER_NAMES = {"anthropic": "anthropic", "vertex": "gcp.vertex_ai"}
_CONTENT_CHARS = 8000  # a captured prompt or answer, cut to a size a trace backend keeps


@dataclass(frozen=True)
class Hop:
    """What a doorbell says about where it came from: the ringing span's ``traceparent`` and,
    for a redelivered turn, why (``watchdog``/``retry``) and which turn it follows."""

    traceparent: str = ""
    redelivery: str = ""
    retry_of: str = ""


def valid_traceparent(value: object) -> str:
    """``value`` if it is a well-formed ``traceparent``, else "" (a bad one starts a new trace
    rather than failing the turn: it is metadata, not work)."""
    return value if isinstance(value, str) and TRACEPARENT.match(value) else ""


NO_HOP = Hop()


def turn_attributes(sid: str, aid: str, turn_id: str, hop: Hop) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": aid,
        "gen_ai.agent.id": f"{sid}/{aid}",
        "gen_ai.conversation.id": f"{sid}/{aid}",
        "cloudswarm.swarm.id": sid,
        "cloudswarm.agent.id": aid,
        "cloudswarm.turn.id": turn_id,
    }
    if hop.redelivery:
        attrs["cloudswarm.turn.redelivery"] = hop.redelivery
    if hop.retry_of:
        attrs["cloudswarm.turn.retry_of"] = hop.retry_of
    return attrs


def agent_attributes(agent: AgentDoc) -> dict[str, AttrValue]:
    """What the lease told about the agent: its role, and how many retries came before."""
    attrs: dict[str, AttrValue] = {"cloudswarm.agent.role": str(agent.get("role", ""))}
    if retries := agent.get("retry_attempt"):
        attrs["cloudswarm.turn.retry_attempt"] = int(retries)
    return attrs


def chat_request_attributes(
    request: Request, provider: str, seq: int, *, content: bool
) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER_NAMES.get(provider, provider),
        "gen_ai.request.model": request.get("model", ""),
        "gen_ai.request.max_tokens": int(request.get("max_tokens", 0)),
        "cloudswarm.call.seq": seq,
    }
    if content:
        attrs["gen_ai.system_instructions"] = _text(request.get("system", ""))
        attrs["gen_ai.input.messages"] = _text(request.get("messages", []))
    return attrs


def chat_response_attributes(
    response_id: str,
    model: str,
    stop_reason: str | None,
    usage: Mapping[str, int],
    output: list[Block],
    *,
    content: bool,
) -> dict[str, AttrValue]:
    cache_read = int(usage.get("cache_read_tokens", 0))
    cache_write = int(usage.get("cache_write_tokens", 0))
    attrs: dict[str, AttrValue] = {
        "gen_ai.response.id": response_id,
        "gen_ai.response.model": model,
        "gen_ai.response.finish_reasons": [stop_reason] if stop_reason else [],
        # The conventions count every input token here, cached ones included; Anthropic's
        # input_tokens leaves out what was read from or written to the cache.
        "gen_ai.usage.input_tokens": int(usage.get("input_tokens", 0)) + cache_read + cache_write,
        "gen_ai.usage.output_tokens": int(usage.get("output_tokens", 0)),
        "gen_ai.usage.cache_read.input_tokens": cache_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_write,
    }
    if content:
        attrs["gen_ai.output.messages"] = _text(output)
    return attrs


def tool_attributes(block: Block, *, content: bool) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": str(block.get("name", "")),
        "gen_ai.tool.call.id": str(block.get("id", "")),
        "gen_ai.tool.type": "function",
    }
    if content:
        attrs["gen_ai.tool.call.arguments"] = _text(block.get("input") or {})
    return attrs


def tool_result_attributes(
    result: JSONObject, is_error: bool, *, content: bool
) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {"cloudswarm.tool.is_error": is_error}
    if is_error and result.get("code"):
        attrs["error.type"] = str(result["code"])
    if content:
        attrs["gen_ai.tool.call.result"] = _text(result)
    return attrs


def _text(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_CONTENT_CHARS]


class _NoSpan:
    context = ""

    def set(self, attributes: Mapping[str, AttrValue]) -> None:
        pass

    def link(self, context: str, attributes: Mapping[str, AttrValue] | None = None) -> None:
        pass

    def fail(self, error: BaseException) -> None:
        pass


def no_span() -> TraceSpan:
    return _NoSpan()


class NoTracer:
    """The tracer of a process that traces nothing (``CLOUDSWARM_TRACING=off``, unit tests)."""

    content = False

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, AttrValue],
        *,
        parent: str = "",
        kind: str = "internal",
    ) -> Iterator[TraceSpan]:
        yield _NoSpan()


def message_links(inbox: Sequence[MessageDoc]) -> list[tuple[str, dict[str, AttrValue]]]:
    """The spans that sent a turn's mail: a turn links to each (a message is work handed over,
    not a call the sender waits on, so a link rather than a parent)."""
    return [
        (trace, {"cloudswarm.message.id": str(m.get("id", ""))})
        for m in inbox
        if (trace := m.get("trace")) and valid_traceparent(trace)
    ]
