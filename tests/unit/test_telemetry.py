"""The process's tracer, as the settings choose it: nothing, or spans written as JSON lines."""

from __future__ import annotations

import json
import os

from cloudswarm import telemetry
from cloudswarm.core.tracing import NoTracer
from cloudswarm.settings import Settings


def test_tracing_off_builds_the_tracer_that_records_nothing():
    assert isinstance(telemetry.build(Settings(project="p")), NoTracer)


def test_file_tracing_writes_each_finished_span_as_a_json_line(tmp_path):
    tracer = telemetry.build(Settings(project="p", tracing="file", tracing_dir=str(tmp_path)))
    with tracer.span("outer", {"a": 1}) as outer, tracer.span("inner", {}, kind="client") as inner:
        assert telemetry.current_traceparent() == inner.context
    path = tmp_path / f"spans-{os.getpid()}.jsonl"
    inner_doc, outer_doc = [json.loads(line) for line in path.read_text().splitlines()]
    assert (inner_doc["name"], outer_doc["name"]) == ("inner", "outer")
    assert inner_doc["parent_id"] == outer_doc["context"]["span_id"]
    assert outer_doc["attributes"] == {"a": 1}
    assert outer.context.split("-")[2] == outer_doc["context"]["span_id"].removeprefix("0x")


def test_a_malformed_parent_starts_a_new_trace_rather_than_failing(tmp_path):
    tracer = telemetry.build(Settings(project="p", tracing="file", tracing_dir=str(tmp_path)))
    with tracer.span("turn", {}, parent="00-not-a-context") as span:
        assert span.context
    (doc,) = [json.loads(x) for x in next(tmp_path.iterdir()).read_text().splitlines()]
    assert doc["parent_id"] is None
