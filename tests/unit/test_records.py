"""The typed records of core/models.py: their conversion to and from documents, and that each
matches what the builders write today (a field added to a builder but not to its record, or the
other way round, fails here). What is written inside store transactions is checked against the
emulator in tests/integration/test_records_in_firestore.py."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from cloudswarm.api import schemas
from cloudswarm.core import documents
from cloudswarm.core.decisions import SERVER_TIME, marker_fields
from cloudswarm.core.models import (
    RECORDS,
    Agent,
    AgentStatus,
    Approval,
    Artifact,
    ArtifactVersion,
    Axes,
    Budget,
    BudgetShard,
    DayShard,
    DeadLetter,
    Effect,
    Event,
    KillSwitch,
    Lease,
    Message,
    Record,
    Role,
    Swarm,
    Task,
    TaskStatus,
    Turn,
    TurnCall,
    TurnTool,
    Usage,
)
from cloudswarm.core.records import EffectResult
from cloudswarm.gcp import store_effects

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

EXAMPLES = [
    Swarm(
        id="s-1", goal="ship", created_by="op#k", budget=Budget(usd=2.0), created_at=AT,
        updated_at=SERVER_TIME, granted_day={"2026-01-02": 0.5}, granted=Axes(usd=0.5),
    ),
    Agent(
        id="dev", name="dev", role=Role.TEAMMATE, model="m", parent_id="lead", depth=1,
        lease=Lease("turn-1", AT), usage=Usage(input_tokens=3, cost_usd=0.01),
        status=AgentStatus.RUNNING, role_description="builds", created_at=AT,
    ),
    Task(
        id="t-1", title="build", created_by="lead", status=TaskStatus.BLOCKED,
        blocked_by=("t-0",), waiting_on=("t-0",), created_at=AT, updated_at=AT,
    ),
    Message(id="m-1", sender="lead", to="dev", body="hi", created_at=SERVER_TIME, task="t-1"),
    Event(id="e-1", kind="task_done", actor="dev", summary="done", data={"task": "t-1"}, at=AT),
    Approval(id="a-1", agent_id="dev", action="deploy", detail="prod", created_at=AT),
    Artifact(id="k", path="a/b.md", version=2, object="s-1/objects/x", size=3, updated_by="dev"),
    ArtifactVersion(
        id="00000002", path="a/b.md", version=2, object="s-1/objects/x", size=3,
        updated_by="dev", updated_at=AT,
    ),
    Effect(id="tu-1", tool="claim_task", content={"task": "t-1"}, ring=("dev",), at=AT),
    KillSwitch(id="kill_switch", engaged=True, reason="drill", actor="op#k", at=AT),
    DeadLetter(id="d-1", source="doorbell", reason="bad", payload={"x": 1}, at=AT),
    Turn(
        id="tu-1", agent_id="dev", turn=2, outcome="done", started_at=AT, ended_at=SERVER_TIME,
        calls=1, tokens=10, model_calls=(TurnCall(1, 0.1, 2.0, 10, 0.01),),
        tools=(TurnTool("claim_task", 2.1, 0.05),), approval="a-1",
    ),
    BudgetShard(id="3", granted_usd=0.5, granted_turns=2, held_day="2026-01-02", held={"7": 0.5}),
    DayShard(id="7", granted_usd=0.5),
]  # fmt: skip


def test_every_record_has_an_example():
    assert {type(r) for r in EXAMPLES} == set(RECORDS)


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: r.KIND)
def test_a_record_survives_its_document(record):
    doc = record.to_doc()
    assert "id" not in doc
    assert set(doc) <= record.doc_fields() and record.created_fields() <= set(doc)
    assert type(record).from_doc(record.id, doc) == record


def test_documents_use_their_own_names_and_plain_values():
    doc = EXAMPLES[3].to_doc()
    assert doc["from"] == "lead" and "sender" not in doc
    agent = EXAMPLES[1].to_doc()
    assert agent["role"] == "teammate" and type(agent["role"]) is str
    assert agent["lease"] == {"turn": "turn-1", "expires": AT}
    assert EXAMPLES[2].to_doc()["blocked_by"] == ["t-0"]
    assert EXAMPLES[0].to_doc()["updated_at"] is SERVER_TIME


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: r.KIND)
def test_a_drifted_document_is_refused(record):
    doc = record.to_doc()
    with pytest.raises(ValueError, match="unknown fields"):
        type(record).from_doc(record.id, {**doc, "surprise": 1})
    first = sorted(record.created_fields())[0]
    with pytest.raises(ValueError, match="missing"):
        type(record).from_doc(record.id, {k: v for k, v in doc.items() if k != first})


# -- the builders of today: each writes exactly its record's fields ------------------------------


def _agent(doc: dict, **kw) -> Agent:
    return Agent(id=kw.pop("id"), created_at=doc["created_at"], **kw)


def test_a_new_agent_is_its_record():
    kw = dict(name="lead", role=Role.LEAD, model="m", instructions="", parent_id=None, depth=0)
    doc = documents.new_agent_doc(**kw)
    assert doc == _agent(doc, id="lead", **kw).to_doc()
    assert Agent.from_doc("lead", doc).status is AgentStatus.IDLE


def test_events_and_messages_are_their_records():
    for event_doc in (documents.event_doc,):
        doc = event_doc("task_done", "dev", "done", {"task": "t-1"})
        assert doc == Event("e", "task_done", "dev", "done", {"task": "t-1"}, doc["at"]).to_doc()
    for message_doc in (documents.message_doc, store_effects.message_doc):
        plain = message_doc("lead", "dev", "hi")
        assert set(plain) == Message.created_fields()
        Message.from_doc("m", plain)
        for extra in ({"task": "t-1"}, {"approval": "a-1", "approved": True}):
            doc = message_doc("system", "dev", "note", "task_update", **extra)
            assert Message.from_doc("m", doc).to_doc() == doc


def test_an_effect_marker_is_its_record():
    res = EffectResult({"task": "t-1"}, ring=("dev",), progress=True)
    doc = marker_fields("claim_task", res)
    assert Effect.from_doc("tu", doc).to_doc() == doc
    assert set(doc) == Effect.created_fields()


def test_the_task_view_shows_task_fields():
    fields = Task.doc_fields() | {"id"}
    view = documents.task_view("t-1", {"title": "x", "status": "ready", "result": "ok"})
    assert set(view) <= fields


def test_a_new_task_and_an_artifact_entry_are_their_records():
    doc = documents.new_task_doc(
        title="t", description="d", status="blocked", owner="dev", blocked_by=["a"],
        waiting_on=["a"], created_by="lead",
    )  # fmt: skip
    assert Task.from_doc("t-1", doc).to_doc() == doc
    assert set(doc) == Task.doc_fields()
    art = documents.artifact_doc(path="notes.md", version=2, obj="sha-1", size=3, by="dev")
    assert Artifact.from_doc("k", art).to_doc() == art
    assert ArtifactVersion.from_doc("00000002", art).to_doc() == art


def test_record_defaults_are_what_a_new_document_starts_with():
    # The defaults a builder will rely on once it constructs records (issue 14).
    for rec in RECORDS:
        for f in dataclasses.fields(rec):
            if f.metadata.get("later"):
                assert f.default is None, f"{rec.__name__}.{f.name}: a later field starts absent"


# -- the API's responses show record fields -----------------------------------------------------


@pytest.mark.parametrize("model", list(schemas.RECORD_OF), ids=lambda m: m.__name__)
def test_a_response_declares_only_fields_of_its_record(model):
    record = schemas.RECORD_OF[model]
    if issubclass(record, Record):
        fields = record.doc_fields() | {"id"}
    else:  # a nested value (budget, usage)
        fields = {f.name for f in dataclasses.fields(record)}
    declared = {f.alias or name for name, f in model.model_fields.items()}
    shown_apart = {"audit"} if model is schemas.KillSwitch else set()  # the audit collection
    assert declared - shown_apart <= fields, f"{model.__name__}: {declared - fields}"


def test_every_document_response_names_its_record():
    shown = {r for r in schemas.RECORD_OF.values() if issubclass(r, Record)}
    # Effects, dead letters, turn records and budget shards have no API response of their own.
    assert shown == set(RECORDS) - {Effect, DeadLetter, Turn, BudgetShard, DayShard}
