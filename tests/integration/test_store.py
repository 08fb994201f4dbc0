"""The Firestore store against the real emulator: leases, inbox, task transactions, effects."""

from __future__ import annotations

import datetime as dt

import pytest

from cloudswarm.core import budget
from cloudswarm.core.models import Budget, SwarmStatus
from cloudswarm.errors import Conflict, InvalidTransition, NotFound
from cloudswarm.gcp.store import FirestoreStore


@pytest.fixture
def store(clean_firestore, firestore_client, project) -> FirestoreStore:
    return FirestoreStore(project, db=firestore_client)


@pytest.fixture
def sid(store) -> str:
    swarm_id, created = store.create_swarm(
        goal="ship it", model="claude-sonnet-4-5", budget=Budget(usd=1.0), created_by="op"
    )
    assert created
    return swarm_id


def effect(store, sid, tuid, name, body):
    return store.run_effect(sid, tuid, name, body)


def test_create_swarm_writes_lead_and_goal_once_per_request_id(store):
    a, created_a = store.create_swarm(
        goal="g", model="m", budget=Budget(), created_by="op", request_id="req-1"
    )
    b, created_b = store.create_swarm(
        goal="g", model="m", budget=Budget(), created_by="op", request_id="req-1"
    )
    assert (a, created_a, created_b) == (b, True, False)
    assert store.get_agent(a, "lead")["role"] == "lead"
    assert [m["body"] for m in store.unread(a, "lead")] == ["Goal: g"]
    assert len(list(store.db.collection("swarms").stream())) == 1


def test_lease_coalesces_a_second_turn_and_reports_wake(store, sid):
    first = store.acquire_lease(sid, "lead", "turn-1", 60)
    assert first.kind == "acquired"
    second = store.acquire_lease(sid, "lead", "turn-2", 60)
    assert second.kind == "busy"
    assert store.get_agent(sid, "lead")["wake_pending"] is True
    assert store.release_lease(sid, "lead", "turn-2", {}) is False  # not its lease
    assert store.release_lease(sid, "lead", "turn-1", {"turns": 1}) is True
    agent = store.get_agent(sid, "lead")
    assert agent["lease"] is None and agent["wake_pending"] is False and agent["turns"] == 1


def test_expired_lease_is_taken_over_and_the_watchdog_only_frees_dead_turns(store, sid):
    assert store.acquire_lease(sid, "lead", "dead", 0).kind == "acquired"  # expires at once
    assert store.expire_lease(sid, "lead", "other-turn") is False
    assert store.expire_lease(sid, "lead", "dead") is True
    assert store.acquire_lease(sid, "lead", "live", 60).kind == "acquired"
    assert store.expire_lease(sid, "lead", "live") is False  # not expired: left alone


def test_halted_swarm_or_kill_switch_refuses_the_lease_and_keeps_mail(store, sid):
    store.set_kill_switch(engaged=True, reason="drill", actor="admin")
    res = store.acquire_lease(sid, "lead", "t", 60)
    assert res.kind == "inactive" and "kill switch" in res.reason
    store.set_kill_switch(engaged=False, reason="done", actor="admin")
    store.set_swarm_status(sid, SwarmStatus.PAUSED, actor="op")
    assert store.acquire_lease(sid, "lead", "t", 60).kind == "inactive"
    assert len(store.unread(sid, "lead")) == 1
    audit = list(store.p.kill_switch().collection("audit").stream())
    assert sorted(a.get("engaged") for a in audit) == [False, True]


def test_kill_switch_change_needs_a_reason(store):
    with pytest.raises(Conflict):
        store.set_kill_switch(engaged=True, reason="  ", actor="op")
    assert store.get_kill_switch() == {"engaged": False}


def test_illegal_swarm_transition_changes_nothing(store, sid):
    store.set_swarm_status(sid, SwarmStatus.COMPLETED, actor="op")
    with pytest.raises(InvalidTransition, match="from completed to running"):
        store.set_swarm_status(sid, SwarmStatus.RUNNING, actor="op")
    assert store.get_swarm(sid)["status"] == "completed"


def test_unknown_agent_and_swarm_are_not_found(store, sid):
    with pytest.raises(NotFound):
        store.get_agent(sid, "ghost")
    with pytest.raises(NotFound):
        store.get_swarm("s-nope")
    assert store.acquire_lease(sid, "ghost", "t", 60).kind == "missing"


def test_inbox_reads_are_bounded_and_marked_by_the_step_commit(store, sid):
    lead = store.get_agent(sid, "lead")
    body = store.spawn_agent_body(
        sid,
        lead,
        {"name": "bob", "instructions": "help", "model": "m"},
        max_agents=5,
        max_depth=2,
    )
    assert not effect(store, sid, "tu-spawn", "spawn_agent", body).is_error
    for i in range(5):
        send = store.send_message_body(sid, "lead", ["bob"], f"note {i}", f"tu-{i}")
        assert effect(store, sid, f"tu-{i}", "send_message", send).ring == ("bob",)
    first = store.unread(sid, "bob", limit=3)
    assert len(first) == 3
    store.commit_step(
        sid,
        "bob",
        "turn",
        conv_version=1,
        read_ids=[m["id"] for m in first],
        usage={"input_tokens": 10, "cost_usd": 0.01},
        spent={"usd": 0.01},
        activity="working",
    )
    rest = store.unread(sid, "bob", limit=10)
    assert len(rest) == 3  # the spawn note plus five messages, three of them read
    bob = store.get_agent(sid, "bob")
    assert bob["conv_version"] == 1 and bob["usage"]["input_tokens"] == 10


def test_task_transactions_block_claim_complete_and_notify(store, sid):
    lead = store.get_agent(sid, "lead")
    spawn = store.spawn_agent_body(
        sid, lead, {"name": "bob", "instructions": "i", "model": "m"}, max_agents=5, max_depth=2
    )
    effect(store, sid, "tu-s", "spawn_agent", spawn)

    def create(tuid, tid, deps=(), owner=None):
        body = store.create_task_body(
            sid, "lead", tid, {"title": tid, "owner": owner}, list(deps), 50
        )
        return effect(store, sid, tuid, "create_task", body)

    assert create("c1", "a").content["task"]["status"] == "ready"
    assert create("c2", "b", ["a"], owner="bob").content["task"]["status"] == "blocked"
    unknown = create("c3", "c", ["zzz"])
    assert unknown.is_error and "zzz" in unknown.content["error"]
    assert not store.p.task(sid, "c").get().exists  # nothing but the marker was written

    blocked = effect(store, sid, "k1", "claim_task", store.claim_task_body(sid, "bob", "b"))
    assert blocked.is_error and blocked.content["error"] == "task b is blocked by a"
    assert not effect(
        store, sid, "k2", "claim_task", store.claim_task_body(sid, "lead", "a")
    ).is_error
    taken = effect(store, sid, "k3", "claim_task", store.claim_task_body(sid, "bob", "a"))
    assert taken.is_error and "owned by lead" in taken.content["error"]

    done = effect(
        store,
        sid,
        "d1",
        "complete_task",
        store.complete_task_body(sid, "lead", "lead", "a", "result"),
    )
    assert done.content["unblocked"] == ["b"] and done.ring == ("bob",)
    again = effect(
        store,
        sid,
        "d1",
        "complete_task",
        store.complete_task_body(sid, "lead", "lead", "a", "result"),
    )
    assert again.replayed and again.content == done.content
    assert store.p.task(sid, "b").get().get("status") == "ready"
    ready_notes = [m for m in store.unread(sid, "bob") if m.get("kind") == "task_update"]
    assert len(ready_notes) == 1
    swarm = store.get_swarm(sid)
    assert (swarm["task_count"], swarm["tasks_done"]) == (2, 1)


def test_dependency_cycle_is_rejected_with_its_path(store, sid):
    for tuid, tid, deps in (("c1", "a", []), ("c2", "b", ["a"])):
        body = store.create_task_body(sid, "lead", tid, {"title": tid}, deps, 50)
        effect(store, sid, tuid, "create_task", body)
    res = effect(
        store,
        sid,
        "u1",
        "update_task",
        store.update_task_body(sid, "lead", "a", {"task_id": "a", "blocked_by": ["b"]}),
    )
    assert res.is_error and "a -> b -> a" in res.content["error"]
    assert store.p.task(sid, "a").get().get("blocked_by") == []


def test_allowances_are_fail_closed(store, sid):
    day = dt.date.today().isoformat()
    err, grant = store.grant_allowance(
        sid, "lead", {"usd": 0.6}, {"usd": 0.6}, daily_cap_usd=100, day=day
    )
    assert err is None and grant == {"usd": 0.6}
    store.commit_step(
        sid, "lead", "t", conv_version=1, read_ids=[], usage=None, spent={"usd": 0.6}, activity="x"
    )
    err, grant = store.grant_allowance(
        sid, "lead", {"usd": 0.6}, {"usd": 0.6}, daily_cap_usd=100, day=day
    )
    assert grant == {} and "budget exhausted" in err
    assert store.get_swarm(sid)["granted"]["usd"] == pytest.approx(0.6)


def test_an_ended_swarm_gives_unspent_allowance_back_to_the_daily_cap(store, sid):
    day = budget.today()
    other, _ = store.create_swarm(goal="g2", model="m", budget=Budget(usd=1.0), created_by="op")
    for swarm in (sid, other):
        err, _ = store.grant_allowance(
            swarm, "lead", {"usd": 0.4}, {"usd": 0.4}, daily_cap_usd=100, day=day
        )
        assert err is None
    store.commit_step(
        sid, "lead", "t", conv_version=1, read_ids=[], usage=None, spent={"usd": 0.1}, activity="x"
    )
    granted = lambda: store.db.collection("budget_days").document(day).get().get("granted_usd")  # noqa: E731
    assert granted() == pytest.approx(0.8)
    store.set_swarm_status(sid, SwarmStatus.COMPLETED, actor="lead")
    assert granted() == pytest.approx(0.5)  # 0.3 unspent came back
    assert store.get_agent(sid, "lead")["allowance"]["usd"] == pytest.approx(0.1)
    # A lead still in a turn keeps what covers its call in flight.
    assert store.acquire_lease(other, "lead", "turn-1", 60).kind == "acquired"
    store.set_swarm_status(other, SwarmStatus.FAILED, actor="op", reason="stop")
    assert granted() == pytest.approx(0.5)
    # Ending again (a replay) gives nothing back twice.
    store.set_swarm_status(sid, SwarmStatus.COMPLETED, actor="lead")
    assert granted() == pytest.approx(0.5)


def test_a_lead_finishing_its_swarm_gives_its_own_allowance_back(store, sid):
    day = budget.today()
    store.grant_allowance(sid, "lead", {"usd": 0.4}, {"usd": 0.4}, daily_cap_usd=100, day=day)
    assert store.acquire_lease(sid, "lead", "turn-1", 60).kind == "acquired"
    finish = store.finish_swarm_body(sid, "lead", "completed", "all done")
    assert not effect(store, sid, "f1", "finish_swarm", finish).is_error
    assert store.db.collection("budget_days").document(day).get().get("granted_usd") == 0
    assert store.get_swarm(sid)["status"] == "completed"


def test_artifact_versions_detect_conflicting_writes(store, sid):
    w1 = store.write_artifact_body(sid, "lead", "notes.md", "obj1", 3, None)
    assert effect(store, sid, "w1", "write_artifact", w1).content["version"] == 1
    clash = store.write_artifact_body(sid, "bob", "notes.md", "obj2", 3, None)
    assert effect(store, sid, "w2", "write_artifact", clash).content["code"] == "exists"
    stale = store.write_artifact_body(sid, "bob", "notes.md", "obj2", 3, 0)
    assert effect(store, sid, "w3", "write_artifact", stale).content["code"] == "version_conflict"
    ok = store.write_artifact_body(sid, "bob", "notes.md", "obj2", 3, 1)
    assert effect(store, sid, "w4", "write_artifact", ok).content["version"] == 2
    assert store.get_artifact(sid, "notes.md")["object"] == "obj2"
    assert [a["path"] for a in store.list_artifacts(sid, "notes")] == ["notes.md"]


def test_a_decision_wakes_only_an_agent_still_waiting_for_it(store, sid):
    for tuid, aid in (("r1", "ap-1"), ("r2", "ap-2")):
        effect(
            store,
            sid,
            tuid,
            "request_approval",
            store.request_approval_body(sid, "lead", aid, "deploy", "prod"),
        )
    assert store.get_agent(sid, "lead")["status"] == "waiting_approval"
    decided = store.decide_approval(sid, "ap-1", approve=True, actor="op", comment="ok")
    assert (decided["status"], decided["decided_by"], decided["comment"]) == (
        "approved",
        "op",
        "ok",
    )
    assert store.get_agent(sid, "lead")["status"] == "idle"
    store.set_agent_status(sid, "lead", "failed", error="gone")
    store.decide_approval(sid, "ap-2", approve=False, actor="op")
    assert store.get_agent(sid, "lead")["status"] == "failed"
    with pytest.raises(Conflict):
        store.decide_approval(sid, "ap-2", approve=True, actor="op")
