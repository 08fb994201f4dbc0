"""A turn's spans, as OpenTelemetry's SDK records them (its in-memory exporter): the tree, the
GenAI attributes, errors, and the context a message carries from its sender's turn to its
recipient's."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from cloudswarm import telemetry
from cloudswarm.core import doorbell, turn
from cloudswarm.core.tracing import Hop
from cloudswarm.errors import PermanentError, TransientError
from tests.unit.test_turn import make
from tests.unit.turn_fakes import FakeBus, ScriptedModel, agent_doc, answer, text, tool_use

SECRET = "the-prompt-text-nobody-may-read"


class ContextBus(FakeBus):
    """Rings as gcp/bus.py does: each doorbell carries the span current when it rang."""

    def ring(self, sid, aid):
        super().ring(sid, aid)
        self.contexts.append((aid, telemetry.current_traceparent()))

    def __init__(self):
        super().__init__()
        self.contexts: list[tuple[str, str]] = []


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter, provider
    provider.shutdown()


def traced(model, spans, *, content=False, **kw):
    d, store = make(model, **kw)
    d.tracer = telemetry.OtelTracer(spans[1], content=content)
    d.bus = ContextBus()
    return d, store


def by_name(exporter, prefix):
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def tp(span) -> str:
    c = span.context
    return f"00-{c.trace_id:032x}-{c.span_id:016x}-01"


def ids(traceparent: str) -> list[str]:
    """A traceparent's trace and span ids (its flags vary with the SDK's id generator)."""
    return traceparent.split("-")[1:3]


def test_a_turn_is_an_invoke_agent_span_with_a_chat_and_an_execute_tool_span_inside(spans):
    exporter, _ = spans
    usage = answer(tool_use("list_tasks", {}, tid="toolu_1"))
    usage.usage.update(cache_read_tokens=40, cache_write_tokens=7)
    d, store = traced(ScriptedModel(usage, answer(text("done"))), spans)
    store.mail("lead", SECRET)
    assert turn.run_turn(d, "s1", "lead").kind == "done"
    (agent,) = by_name(exporter, "invoke_agent")
    chats = by_name(exporter, "chat ")
    (tool,) = by_name(exporter, "execute_tool")
    assert agent.name == "invoke_agent lead" and agent.parent is None
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent.attributes["gen_ai.agent.name"] == "lead"
    assert agent.attributes["cloudswarm.swarm.id"] == "s1"
    assert agent.attributes["cloudswarm.turn.outcome"] == "done"
    assert agent.attributes["cloudswarm.turn.calls"] == 2
    assert len(agent.attributes["cloudswarm.turn.id"]) == 16
    assert [c.parent.span_id for c in chats] == [agent.context.span_id] * 2
    first = chats[0].attributes
    assert chats[0].kind == SpanKind.CLIENT and chats[0].name == "chat claude-sonnet-4-5"
    assert first["gen_ai.provider.name"] == "anthropic"
    assert first["gen_ai.request.model"] == "claude-sonnet-4-5"
    assert first["gen_ai.usage.output_tokens"] == 10
    assert first["gen_ai.usage.input_tokens"] == 100 + 40 + 7  # cached tokens included
    assert first["gen_ai.usage.cache_read.input_tokens"] == 40
    assert first["gen_ai.usage.cache_creation.input_tokens"] == 7
    assert first["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert tool.parent.span_id == agent.context.span_id
    assert tool.attributes["gen_ai.tool.name"] == "list_tasks"
    assert tool.attributes["gen_ai.tool.call.id"] == "toolu_1"
    assert tool.attributes["cloudswarm.tool.is_error"] is False
    # Content capture is off: no prompt, answer or tool input in any attribute.
    for span in exporter.get_finished_spans():
        assert SECRET not in repr(dict(span.attributes)), span.name
        assert not any(k.startswith("gen_ai.input") for k in span.attributes)


def test_content_capture_puts_the_prompt_in_the_chat_span_when_an_operator_turns_it_on(spans):
    exporter, _ = spans
    d, store = traced(ScriptedModel(answer(text("done"))), spans, content=True)
    store.mail("lead", SECRET)
    turn.run_turn(d, "s1", "lead")
    (chat,) = by_name(exporter, "chat ")
    assert SECRET in chat.attributes["gen_ai.input.messages"]
    assert "done" in chat.attributes["gen_ai.output.messages"]


def test_a_message_carries_its_senders_span_to_the_recipients_turn_in_the_same_trace(spans):
    exporter, _ = spans
    send = tool_use("send_message", {"to": "w1", "body": "go"}, tid="toolu_send")
    d, store = traced(ScriptedModel(answer(send), answer(text("ok"))), spans)
    store.agents["w1"] = agent_doc("teammate")
    store.mail("lead", "start")
    # The lead's turn runs inside the API call's span (a caller's traceparent, here made up).
    api = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    turn.run_turn(d, "s1", "lead", Hop(traceparent=api))
    (lead,) = by_name(exporter, "invoke_agent lead")
    (tool,) = by_name(exporter, "execute_tool send_message")
    assert f"{lead.context.trace_id:032x}" == "ab" * 16
    assert f"{lead.parent.span_id:016x}" == "cd" * 8 and lead.parent.is_remote
    (msg,) = [m for m in store.messages if m["to"] == "w1"]
    assert ids(msg["trace"]) == ids(tp(tool))
    # The doorbell the send rang carries the tool's span: it is the teammate's turn's parent.
    (rung,) = [c for aid, c in d.bus.contexts if aid == "w1"]
    assert ids(rung) == ids(tp(tool))
    d.model = ScriptedModel(answer(text("on it")))
    turn.run_turn(d, "s1", "w1", Hop(traceparent=rung))
    (worker,) = by_name(exporter, "invoke_agent w1")
    assert worker.context.trace_id == lead.context.trace_id
    assert worker.parent.span_id == tool.context.span_id
    (link,) = worker.links
    assert link.context.span_id == tool.context.span_id
    assert link.attributes["cloudswarm.message.id"] == msg["id"]


def test_a_failed_call_is_recorded_as_an_error_and_its_retry_names_the_failed_turn(spans):
    exporter, _ = spans
    d, store = traced(ScriptedModel(TransientError("529 overloaded", retry_after=1)), spans)
    store.mail("lead", "hello")
    assert turn.run_turn(d, "s1", "lead").kind == "retry"
    (agent,) = by_name(exporter, "invoke_agent")
    (chat,) = by_name(exporter, "chat ")
    for span in (agent, chat):
        assert span.status.status_code == StatusCode.ERROR
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes["exception.type"].endswith("TransientError")
    kind, payload, _ = d.scheduler.items[-1]
    assert kind == "retry" and payload["turn_id"] == agent.attributes["cloudswarm.turn.id"]
    # The retried turn says so: why it ran, which attempt it follows, how many came before.
    d.model = ScriptedModel(answer(text("ok")))
    hop = Hop(tp(agent), "retry", payload["turn_id"])
    turn.run_turn(d, "s1", "lead", hop)
    retried = by_name(exporter, "invoke_agent")[-1]
    assert retried.parent.span_id == agent.context.span_id
    assert retried.attributes["cloudswarm.turn.redelivery"] == "retry"
    assert retried.attributes["cloudswarm.turn.retry_of"] == payload["turn_id"]
    assert retried.attributes["cloudswarm.turn.retry_attempt"] == 1


def test_a_permanent_failure_and_a_chaos_crash_are_errors_on_the_turn(spans):
    exporter, _ = spans
    d, store = traced(ScriptedModel(PermanentError("400 bad request")), spans)
    store.mail("lead", "hello")
    assert turn.run_turn(d, "s1", "lead").kind == "failed"
    d, store = traced(
        ScriptedModel(answer(text("x"))),
        spans,
        chaos_crash_rate=1.0,
        chaos_crash_points=("after_model",),
    )
    store.mail("lead", "hello")
    with pytest.raises(turn.ChaosCrash):
        turn.run_turn(d, "s1", "lead")
    failed, crashed = by_name(exporter, "invoke_agent")
    assert failed.status.status_code == crashed.status.status_code == StatusCode.ERROR
    assert failed.events[0].attributes["exception.message"] == "400 bad request"
    assert crashed.events[0].attributes["exception.type"].endswith("ChaosCrash")


def test_the_watchdog_ring_carries_its_scheduling_turns_span(spans):
    exporter, _ = spans
    d, store = traced(ScriptedModel(answer(text("ok"))), spans)
    seen = []
    d.scheduler.schedule = lambda kind, payload, delay: seen.append(telemetry.carrier())
    store.mail("lead", "hello")
    turn.run_turn(d, "s1", "lead")
    (agent,) = by_name(exporter, "invoke_agent")
    ((only,),) = [list(c.values()) for c in seen]
    assert ids(only) == ids(tp(agent))


def test_a_doorbell_hop_reads_only_well_formed_trace_attributes():
    good = "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    attrs = {"swarm_id": "s", "agent_id": "a", "traceparent": good, "redelivery": "watchdog"}
    assert doorbell.hop({"message": {"attributes": {**attrs, "retry_of": "t1"}}}) == Hop(
        good, "watchdog", "t1"
    )
    bad = {**attrs, "traceparent": "junk", "redelivery": "anything", "retry_of": "../x"}
    assert doorbell.hop({"message": {"attributes": bad}}) == Hop()
    assert doorbell.hop({}) == Hop()


def test_outside_any_span_nothing_is_carried():
    assert telemetry.carrier() == {}
