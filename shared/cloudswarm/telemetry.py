"""OpenTelemetry behind the core's ``Tracer`` port, and the trace context on the wire.

The core opens spans through ``core/ports.py``'s ``Tracer``; this adapter makes each one an
OpenTelemetry span, current while it is open, so the adapters that cross a hop (``gcp/bus.py``'s
doorbell, ``gcp/scheduler.py``'s Cloud Tasks) stamp the current span's ``traceparent`` on what
they send, and the function on the other side continues the same trace. W3C trace context only:
no baggage crosses a hop, so nothing but ids leaves a process this way.

Where spans go is ``CLOUDSWARM_TRACING``: ``off`` (the core's ``NoTracer``), ``cloud`` (Cloud
Trace, through the maintained ``opentelemetry-exporter-gcp-trace``, batched and flushed at the
end of every invocation, since a function's CPU may be throttled between them) or ``file``
(each process appends its finished spans as JSON lines to ``spans-<pid>.jsonl`` in
``CLOUDSWARM_TRACING_DIR``: the local stack's collector, which tests read).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from cloudswarm.core.ports import AttrValue, Tracer, TraceSpan
from cloudswarm.core.tracing import NoTracer, valid_traceparent

_PROPAGATOR = TraceContextTextMapPropagator()
_KINDS = {
    "internal": SpanKind.INTERNAL,
    "client": SpanKind.CLIENT,
    "server": SpanKind.SERVER,
    "consumer": SpanKind.CONSUMER,
}
_ERROR_CHARS = 500  # an error's message in a span, cut short


def _context(traceparent: str):
    """An OpenTelemetry context whose current span is the remote one ``traceparent`` names."""
    return _PROPAGATOR.extract({"traceparent": traceparent})


def current_traceparent() -> str:
    """The current span's ``traceparent`` ("" outside any recorded span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return valid_traceparent(carrier.get("traceparent"))


def carrier() -> dict[str, str]:
    """The attributes (or payload fields) that carry the current span across a hop."""
    tp = current_traceparent()
    return {"traceparent": tp} if tp else {}


class OtelSpan:
    def __init__(self, span: trace.Span) -> None:
        self._span = span

    @property
    def context(self) -> str:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(self._span))
        return valid_traceparent(carrier.get("traceparent"))

    def set(self, attributes: Mapping[str, AttrValue]) -> None:
        self._span.set_attributes(dict(attributes))

    def link(self, context: str, attributes: Mapping[str, AttrValue] | None = None) -> None:
        other = trace.get_current_span(_context(context)).get_span_context()
        if other.is_valid:
            self._span.add_link(other, dict(attributes or {}))

    def fail(self, error: BaseException) -> None:
        self._span.record_exception(error, attributes={"exception.message": _message(error)})
        self._span.set_status(Status(StatusCode.ERROR, type(error).__name__))


def _message(error: BaseException) -> str:
    return str(error)[:_ERROR_CHARS]


class OtelTracer:
    """The ``Tracer`` port over an OpenTelemetry tracer provider."""

    def __init__(self, provider: trace.TracerProvider, *, content: bool = False) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("cloudswarm")
        self.content = content

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        attributes: Mapping[str, AttrValue],
        *,
        parent: str = "",
        kind: str = "internal",
    ) -> Iterator[TraceSpan]:
        parent = valid_traceparent(parent)
        # Exceptions are recorded by hand (``fail``): OpenTelemetry's own record would carry
        # the whole message, and a message may quote what it failed on.
        with self._tracer.start_as_current_span(
            name,
            context=_context(parent) if parent else None,
            kind=_KINDS[kind],
            attributes=dict(attributes),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            wrapped = OtelSpan(span)
            try:
                yield wrapped
            except BaseException as e:
                wrapped.fail(e)
                raise

    def flush(self) -> None:
        force = getattr(self.provider, "force_flush", None)
        if force is not None:
            force(5000)


def _json_line(span: ReadableSpan) -> str:
    return span.to_json(indent=None) + "\n"


def file_exporter(folder: str) -> SpanExporter:
    """JSON lines into ``folder``, one file per process (processes never share a file, so no
    line is ever interleaved with another's). The SDK's console exporter writes them."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = open(Path(folder) / f"spans-{os.getpid()}.jsonl", "a", buffering=1)  # noqa: SIM115
    return ConsoleSpanExporter(out=out, formatter=_json_line)


def build(settings: Any) -> Tracer:
    """The tracer ``settings.tracing`` asks for."""
    if settings.tracing == "off":
        return NoTracer()
    service = os.environ.get("K_SERVICE") or os.environ.get("FUNCTION_TARGET") or "cloudswarm"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.tracing == "cloud":
        # Imported here: only a deployment needs the Cloud Trace client.
        from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(CloudTraceSpanExporter(project_id=settings.project))
        )
    else:
        # Synchronous: a process the tests kill loses no span it has finished.
        provider.add_span_processor(SimpleSpanProcessor(file_exporter(settings.tracing_dir)))
    return OtelTracer(provider, content=settings.trace_content)


@cache
def tracer() -> Tracer:
    """The process's tracer, from the process's settings (the API's too)."""
    from cloudswarm.settings import settings

    return build(settings())


def flush() -> None:
    """Send what is batched before the function's invocation ends (Cloud Trace mode)."""
    if tracer.cache_info().currsize:
        flush_ = getattr(tracer(), "flush", None)
        if flush_ is not None:
            flush_()
