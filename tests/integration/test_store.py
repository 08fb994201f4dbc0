"""The Firestore store against the real emulator: leases, inbox, swarms, budgets, team effects.

The board's rules (tasks, messages, artifacts) are held to the same behaviour on both stores by
the contract suite, tests/integration/contract/test_board.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cloudswarm.core import board, budget, team
from cloudswarm.core.models import Budget, SwarmStatus
from cloudswarm.errors import Conflict, InvalidTransition, NotFound
from cloudswarm.gcp.fs import now
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


def test_unknown_agent_and_swarm_are_not_found(store, sid):
    with pytest.raises(NotFound):
        store.get_agent(sid, "ghost")
    with pytest.raises(NotFound):
        store.get_swarm("s-nope")
    assert store.acquire_lease(sid, "ghost", "t", 60).kind == "missing"


def test_inbox_reads_are_bounded_and_marked_by_the_step_commit(store, sid):
    lead = store.get_agent(sid, "lead")
    spawn = team.spawn_agent(
        sid, lead, {"name": "bob", "instructions": "help", "model": "m"}, max_agents=5, max_depth=2
    )
    assert not store.effect(sid, "tu-spawn", "spawn_agent", spawn).is_error
    for i in range(5):
        send = board.send_message(sid, "lead", ["bob"], f"note {i}", f"tu-{i}")
        assert store.effect(sid, f"tu-{i}", "send_message", send).ring == ("bob",)
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


def test_doorbells_at_once_take_the_lease_once_and_never_wait_on_a_lock(store, sid, stack):
    """An agent's doorbells try its lease several at once (a duplicate, a coalesced ring, a
    retry, the pusher delivering them side by side): one turn takes it, the others find it busy
    and leave wake_pending, and none waits on another's lock. Transactions would: each reads
    the agent, then all write it, and the emulator frees such a wait only at its lock timeout
    (2 s, one waiter after another), so a turn could spend its whole wall on the lease."""
    log = stack.run_dir / "firestore.log"
    timeouts = log.read_text(errors="replace").count("Transaction lock timeout")
    n = 8
    start = threading.Barrier(n)

    def doorbell(i: int) -> str:
        start.wait()
        return store.acquire_lease(sid, "lead", f"turn-{i}", 60).kind

    with ThreadPoolExecutor(n) as pool:
        kinds = list(pool.map(doorbell, range(n)))

    assert sorted(kinds) == ["acquired"] + ["busy"] * (n - 1)
    lead = store.get_agent(sid, "lead")
    assert lead["lease"]["turn"] in {f"turn-{i}" for i in range(n)} and lead["wake_pending"]
    assert log.read_text(errors="replace").count("Transaction lock timeout") == timeouts


def test_agents_granted_at_once_all_get_their_allowance_without_a_lock_or_an_abort(store, stack):
    """Agents woken together (a ring, a released kill switch) all take an allowance at once,
    several from each budget shard. In transactions, each reads its shards and then all write
    them: they abort each other (the emulator also waits out its lock timeout) and turns fall
    back to retries. Each grant is read, decided and written if what it read is unchanged, so
    one after another gets through, fail-closed and exact."""
    log = stack.run_dir / "firestore.log"
    timeouts = log.read_text(errors="replace").count("Transaction lock timeout")
    n, chunk = 24, 0.05
    sid, _ = store.create_swarm(
        goal="ring", model="claude-sonnet-4-5", budget=Budget(usd=1.0), created_by="op"
    )
    names = [f"r{i:02d}" for i in range(n)]
    for name in names:
        spec = {"name": name, "model": "claude-sonnet-4-5", "instructions": "pass it on"}
        rule = team.spawn_agent(sid, {"id": "lead"}, spec, max_agents=n + 1, max_depth=2)
        assert not store.executor.run_effect(sid, f"tu-{name}", "spawn_agent", rule).is_error
    day = budget.today()
    start = threading.Barrier(n)

    def grant(name: str) -> tuple:
        start.wait()
        return store.grant_allowance(
            sid, name, {"usd": chunk}, {"usd": chunk}, daily_cap_usd=100, day=day
        )

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(grant, names))

    # $1 holds twenty $0.05 grants (one may draw from two shards): 20 granted, 4 refused.
    granted = [g["usd"] for err, g in results if err is None]
    assert granted == pytest.approx([chunk] * 20), results
    refused = [err for err, _ in results if err is not None]
    assert len(refused) == 4 and all("usd budget exhausted" in e for e in refused), refused
    held = sum(store.get_agent(sid, name)["allowance"]["usd"] for name in names)
    assert held == pytest.approx(1.0) == store.swarm_granted(sid)["usd"]
    assert log.read_text(errors="replace").count("Transaction lock timeout") == timeouts


def test_the_store_methods_carry_out_the_team_rules(store, sid):
    """What the turn engine and the API call: the rules' outcomes as each caller reads them
    (the rules themselves are held to both stores in tests/integration/contract/test_team.py)."""
    day = budget.today()
    assert store.acquire_lease(sid, "lead", "turn-1", 60).kind == "acquired"
    assert store.acquire_lease(sid, "lead", "turn-2", 60).kind == "busy"
    assert store.release_lease(sid, "lead", "turn-2", {}) is False
    assert store.release_lease(sid, "lead", "turn-1", {"turns": 1}) is True
    assert store.acquire_lease(sid, "lead", "dead", 0).kind == "acquired"
    assert store.expire_lease(sid, "lead", "dead") is True
    assert store.grant_allowance(
        sid, "lead", {"usd": 0.6}, {"usd": 0.6}, daily_cap_usd=100, day=day
    ) == (None, {"usd": 0.6})
    err, grant = store.grant_allowance(
        sid, "lead", {"usd": 1.6}, {"usd": 1.6}, daily_cap_usd=100, day=day
    )
    assert grant == {} and "budget exhausted" in err
    store.halt_for_budget(sid, "lead", "swarm usd budget exhausted")
    assert store.get_swarm(sid)["status"] == "paused"
    store.halt_for_budget(sid, "lead", "swarm usd budget exhausted")  # paused already: no error
    with pytest.raises(InvalidTransition, match="from paused to completed"):
        store.set_swarm_status(sid, SwarmStatus.COMPLETED, actor="op")
    resumed = store.set_swarm_status(sid, SwarmStatus.RUNNING, actor="op", reason="raised")
    assert (resumed["id"], resumed["status"], resumed["status_reason"]) == (
        sid,
        "running",
        "raised",
    )
    assert store.running_swarm(sid)["id"] == sid
    store.add_event(sid, "note", "op", "hello", {"n": 1})
    store.notify_lead(sid, "bob", "bob is fine")
    assert "bob is fine" in [m["body"] for m in store.unread(sid, "lead")]

    store.effect(sid, "r1", "request_approval", team.request_approval(sid, "lead", "ap-1", "a", ""))
    decided = store.decide_approval(sid, "ap-1", approve=True, actor="op", comment="ok")
    assert (decided["id"], decided["status"], decided["agent_id"]) == ("ap-1", "approved", "lead")
    with pytest.raises(Conflict, match="already approved"):
        store.decide_approval(sid, "ap-1", approve=False, actor="op")
    with pytest.raises(NotFound):
        store.decide_approval(sid, "ap-9", approve=False, actor="op")

    store.commit_step(
        sid, "lead", "t", conv_version=1, read_ids=[], usage={"input_tokens": 7, "cost_usd": 0.5},
        spent=None, activity="x",
    )  # fmt: skip
    usage = store.usage(sid)
    assert usage["total"]["input_tokens"] == 7 and usage["total"]["cost_usd"] == 0.5
    assert usage["agents"][0]["agent_id"] == "lead" and usage["budget"]["usd"] == 1.0
    stopped = store.stop_agent(sid, "lead", "op")
    assert (stopped["id"], stopped["status"]) == ("lead", "stopped")
    with pytest.raises(NotFound, match="agent ghost does not exist"):
        store.stop_agent(sid, "ghost", "op")
    store.set_swarm_status(sid, SwarmStatus.KILLED, actor="op")
    with pytest.raises(Conflict, match="is killed") as ended:
        store.running_swarm(sid)
    assert ended.value.code == "swarm_ended"


def test_pending_wakeups_name_unread_mail_in_one_swarm_or_all(store, sid):
    other, _ = store.create_swarm(goal="g2", model="m", budget=Budget(), created_by="op")
    assert store.pending_wakeups(sid) == {(sid, "lead")}  # the goal waits in the lead's inbox
    assert store.pending_wakeups() == {(sid, "lead"), (other, "lead")}
    assert store.pending_wakeups(limit=1) <= {(sid, "lead"), (other, "lead")}


def test_stale_leases_are_those_past_expiry_with_their_turn(store, sid):
    assert store.acquire_lease(sid, "lead", "turn-live", 60).kind == "acquired"
    assert store.stale_leases() == []
    past = now() - dt.timedelta(seconds=5)
    store.p.agents(sid).document("lead").update({"lease.expires": past})
    assert store.stale_leases() == [(sid, "lead", "turn-live")]
    assert store.expire_lease(sid, "lead", "turn-live")
    assert store.stale_leases() == []
