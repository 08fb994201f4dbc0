"""The turn's timeline record (core/timeline.py): what a turn writes at release, and its bound."""

from __future__ import annotations

import datetime as dt

from cloudswarm.core import paths, timeline, turn
from cloudswarm.core.decisions import SERVER_TIME
from cloudswarm.core.models import Turn
from cloudswarm.errors import TransientError
from tests.unit.test_turn import make
from tests.unit.turn_fakes import ScriptedModel, answer, text, tool_use

START = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_record_is_a_turn_document_and_stays_bounded():
    log = timeline.TurnLog(START, started=10.0)
    for i in range(timeline.MAX_STEPS + 5):
        log.model_call(i + 1, 10.0 + i, 10.5 + i, tokens=100, cost=0.01)
        log.tool_call("claim_task", 10.5 + i, 10.6 + i, is_error=i == 0)
    doc = timeline.turn_record(
        log, turn_id="tu1", agent_id="w1", turn=3, outcome="done", detail="x" * 999, ended=99.0
    )
    rec = Turn.from_doc("tu1", doc)  # exactly the record's fields
    assert rec.calls == rec.tool_count == timeline.MAX_STEPS + 5  # counts stay exact
    assert len(rec.model_calls) == len(rec.tools) == timeline.MAX_STEPS  # lists are capped
    assert rec.tokens == 100 * (timeline.MAX_STEPS + 5) and rec.tool_errors == 1
    assert rec.model_calls[1].seq == 2 and rec.model_calls[1].at_s == 1.0
    assert rec.model_calls[1].dur_s == 0.5 and rec.tools[0].is_error
    assert len(rec.detail) == timeline.DETAIL_CHARS and rec.dur_s == 89.0
    assert rec.started_at == START and doc["ended_at"] is SERVER_TIME
    assert doc["approval"] is None  # the turn asked for no approval


def test_a_turn_writes_its_record_with_its_calls_and_tools():
    model = ScriptedModel(
        answer(tool_use("create_task", {"title": "t"}), usage=50), answer(text("done"))
    )
    d, store = make(model)
    store.mail("lead", "go")
    d.model.on_call = lambda req, abort: setattr(d.clock, "t", d.clock.t + 2.0)
    out = turn.run_turn(d, "s1", "lead")
    assert out.kind == "done"
    (path,) = [p for p in store.docs if p.startswith(paths.swarm("s1") + "/turns/")]
    rec = Turn.from_doc(paths.doc_id(path), store.docs[path])
    assert (rec.agent_id, rec.turn, rec.outcome, rec.calls) == ("lead", 0, "done", 2)
    assert [c.seq for c in rec.model_calls] == [1, 2]
    assert [c.at_s for c in rec.model_calls] == [0.0, 2.0]  # seconds into the turn
    assert [t.name for t in rec.tools] == ["create_task"] and rec.tool_count == 1
    assert rec.tokens == sum(c.tokens for c in rec.model_calls) and rec.cost_usd > 0
    # the record names the transcript objects of the turn: its number and each call's seq
    assert [(tid, seq) for _, tid, seq, _ in d.journal.transcripts] == [
        (rec.id, 1),
        (rec.id, 2),
    ]


def test_a_retried_turn_records_the_retry():
    d, store = make(ScriptedModel(TransientError("overloaded")))
    store.mail("lead", "go")
    assert turn.run_turn(d, "s1", "lead").kind == "retry"
    (doc,) = [v for p, v in store.docs.items() if "/turns/" in p]
    assert doc["outcome"] == "retry" and "overloaded" in doc["detail"] and doc["calls"] == 0
