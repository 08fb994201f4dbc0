"""Every document the store writes is read back from the emulator and parsed by its record in
core/models.py, which refuses a field it does not know and a missing one a new document always
has: a writer and its record cannot drift apart without this test failing."""

from __future__ import annotations

import datetime as dt

import pytest

from cloudswarm.core import board, budget, team, timeline
from cloudswarm.core.models import (
    Agent,
    Approval,
    Artifact,
    ArtifactVersion,
    Budget,
    BudgetShard,
    DayShard,
    DeadLetter,
    Effect,
    Event,
    KillSwitch,
    Message,
    Record,
    Role,
    Swarm,
    SwarmStatus,
    Task,
    Turn,
)
from cloudswarm.gcp.store import FirestoreStore

SUBCOLLECTIONS: dict[str, type[Record]] = {
    "agents": Agent,
    "tasks": Task,
    "messages": Message,
    "events": Event,
    "approvals": Approval,
    "artifacts": Artifact,
    "effects": Effect,
    "turns": Turn,
    "budget": BudgetShard,
}


@pytest.fixture
def store(clean_firestore, firestore_client, project) -> FirestoreStore:
    return FirestoreStore(project, db=firestore_client)


def _every_kind_of_write(store: FirestoreStore) -> str:
    """One swarm's life through the store, touching every writer of every document kind."""
    sid, _ = store.create_swarm(
        goal="ship it", model="m", budget=Budget(usd=5.0), created_by="op", request_id="r-1"
    )
    lead = store.get_agent(sid, "lead")
    spec = {"name": "bob", "instructions": "help", "model": "m", "role": "builder"}
    store.effect(
        sid, "tu-s", "spawn_agent", team.spawn_agent(sid, lead, spec, max_agents=5, max_depth=2)
    )
    for tid, deps in (("a", []), ("b", ["a"])):
        rule = board.create_task(
            sid, "lead", tid, title=tid, owner="bob", blocked_by=deps, max_tasks=50
        )
        assert not store.effect(sid, f"tu-{tid}", "create_task", rule).is_error
    assert not store.effect(sid, "tu-c", "claim_task", board.claim_task(sid, "bob", "a")).is_error
    done = board.complete_task(sid, "bob", "lead", "a", "result")
    assert not store.effect(sid, "tu-d", "complete_task", done).is_error
    cancel = board.update_task(sid, "lead", "b", {"status": "cancelled"})
    assert not store.effect(sid, "tu-x", "update_task", cancel).is_error
    send = board.send_message(sid, "lead", ["bob"], "note", "tu-m")
    assert not store.effect(sid, "tu-m", "send_message", send).is_error
    ask = team.request_approval(sid, "bob", "ap-1", "deploy", "prod")
    store.effect(sid, "tu-ap", "request_approval", ask)
    store.decide_approval(sid, "ap-1", approve=True, actor="op", comment="ok")
    art = board.write_artifact(sid, "bob", "notes.md", "obj", 3, None)
    assert not store.effect(sid, "tu-w", "write_artifact", art).is_error
    assert store.acquire_lease(sid, "bob", "turn-1", 60).kind == "acquired"
    store.grant_allowance(
        sid, "bob", {"usd": 0.1}, {"usd": 0.1}, daily_cap_usd=10, day=budget.today()
    )
    unread = [m["id"] for m in store.unread(sid, "bob")]
    store.commit_step(
        sid, "bob", "turn-1", conv_version=1, read_ids=unread,
        usage={"input_tokens": 1}, spent={"usd": 0.01}, activity="working",
    )  # fmt: skip
    log = timeline.TurnLog(dt.datetime.now(dt.UTC), started=0.0)
    log.model_call(1, 0.0, 1.0, tokens=1, cost=0.01)
    log.tool_call("write_artifact", 1.0, 1.1, is_error=False)
    rec = timeline.turn_record(
        log, turn_id="turn-1", agent_id="bob", turn=0, outcome="done", detail="", ended=1.2
    )
    store.release_lease(sid, "bob", "turn-1", {"turns": 1, "resume_pending": False}, rec)
    store.notify_lead(sid, "bob", "bob needs help")
    store.set_kill_switch(engaged=True, reason="drill", actor="op")
    store.set_kill_switch(engaged=False, reason="drill over", actor="admin")
    store.record_dead_letter("doorbell", "bad message", {"data": "x"})
    store.set_swarm_status(sid, SwarmStatus.PAUSED, actor="op", reason="lunch")
    store.set_swarm_status(sid, SwarmStatus.KILLED, actor="op", reason="done")
    return sid


def test_every_document_written_is_its_record(store):
    sid = _every_kind_of_write(store)
    db = store.db
    swarm = db.document(f"swarms/{sid}").get()
    parsed = [Swarm.from_doc(sid, swarm.to_dict())]
    for name, record in SUBCOLLECTIONS.items():
        snaps = list(db.collection(f"swarms/{sid}/{name}").stream())
        assert snaps, f"the scenario wrote no {name}"
        parsed += [record.from_doc(s.id, s.to_dict()) for s in snaps]
    kill = db.document("control/kill_switch")
    parsed.append(KillSwitch.from_doc("kill_switch", kill.get().to_dict()))
    parsed += [KillSwitch.from_doc(s.id, s.to_dict()) for s in kill.collection("audit").stream()]
    parsed += [
        DeadLetter.from_doc(s.id, s.to_dict()) for s in db.collection("dead_letters").stream()
    ]
    versions = db.collection_group("versions").stream()
    parsed += [ArtifactVersion.from_doc(s.id, s.to_dict()) for s in versions]
    day = db.collection(f"budget_days/{budget.today()}/shards")
    parsed += [DayShard.from_doc(s.id, s.to_dict()) for s in day.stream()]
    kinds = {type(r) for r in parsed}
    assert kinds == {
        Swarm,
        KillSwitch,
        DeadLetter,
        ArtifactVersion,
        DayShard,
        *SUBCOLLECTIONS.values(),
    }
    # The fields written after creation are known to their records too.
    agents = {r.id: r for r in parsed if isinstance(r, Agent)}
    assert agents["bob"].role_description == "builder" and agents["bob"].resume_pending is False
    assert any(isinstance(r, BudgetShard) and r.held_day for r in parsed)
    assert any(isinstance(r, Message) and r.read_by_turn == "turn-1" for r in parsed)
    assert any(isinstance(r, Approval) and r.decided_at for r in parsed)


def test_a_new_swarm_is_what_its_records_say(store):
    sid, _ = store.create_swarm(
        goal="ship it", model="m", budget=Budget(usd=5.0), created_by="op", template="t"
    )
    db = store.db
    swarm = db.document(f"swarms/{sid}").get().to_dict()
    stamps = {k: swarm[k] for k in ("created_at", "updated_at")}
    assert (
        swarm
        == Swarm(
            id=sid, goal="ship it", created_by="op", budget=Budget(usd=5.0), template="t", **stamps
        ).to_doc()
    )
    lead = db.document(f"swarms/{sid}/agents/lead").get().to_dict()
    assert (
        lead
        == Agent(
            id="lead", name="lead", role=Role.LEAD, model="m", created_at=lead["created_at"]
        ).to_doc()
    )
    goal = db.document(f"swarms/{sid}/messages/goal").get().to_dict()
    assert goal == Message(
        id="goal", sender="human:op", to="lead", body="Goal: ship it", kind="goal",
        created_at=goal["created_at"],
    ).to_doc()  # fmt: skip
    rule = board.create_task(sid, "lead", "a", title="a", max_tasks=50)
    assert not store.effect(sid, "tu-a", "create_task", rule).is_error
    task = db.document(f"swarms/{sid}/tasks/a").get().to_dict()
    stamps = {k: task[k] for k in ("created_at", "updated_at")}
    assert task == Task(id="a", title="a", created_by="lead", **stamps).to_doc()
    ask = team.request_approval(sid, "lead", "ap-1", "deploy", "prod")
    store.effect(sid, "tu-ap", "request_approval", ask)
    approval = db.document(f"swarms/{sid}/approvals/ap-1").get().to_dict()
    assert approval == Approval(
        id="ap-1", agent_id="lead", action="deploy", detail="prod",
        created_at=approval["created_at"],
    ).to_doc()  # fmt: skip
