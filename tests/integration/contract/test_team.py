"""Team, swarm, allowance and lease rules carried out by both stores: every outcome, every
refusal (message and code), idempotent replays, the budget maths and the turn lease."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from cloudswarm.core import budget, lease, paths, shards, swarm_rules, team
from cloudswarm.core import decisions as dc
from cloudswarm.core.models import SwarmStatus
from cloudswarm.errors import Conflict, InvalidTransition, NotFound

DAY = budget.today()
SPEC = {"name": "bob", "instructions": "help", "model": "m", "role": "reviewer"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run(store, rule: dc.Rule) -> dc.Outcome:
    return store.executor.run(rule, what="test").outcome


def ok(store, rule: dc.Rule) -> Mapping[str, Any]:
    outcome = run(store, rule)
    assert isinstance(outcome, dc.Decision), outcome
    return outcome.result


def refused(store, rule: dc.Rule) -> tuple[str, str, str]:
    outcome = run(store, rule)
    assert isinstance(outcome, dc.Refusal), outcome
    return outcome.reason, outcome.code, outcome.error


def listed(store, collection: str) -> list[tuple[str, Mapping[str, Any]]]:
    return ok(store, lambda r: dc.Decision(result={"docs": r.list(collection, 100)}))["docs"]


def events(store, sid: str) -> list[str]:
    return sorted(d["kind"] for _, d in listed(store, paths.events(sid)))


def doc(store, path: str) -> Mapping[str, Any]:
    found = store.executor.get(path)
    assert found is not None, path
    return found


def new_swarm(store, usd: float | None = 1.0, request_id: str | None = None, sid: str = "s-1"):
    return ok(
        store,
        swarm_rules.create_swarm(
            sid,
            goal="ship it",
            model="m",
            budget={"usd": usd, "tokens": None, "turns": None, "wall_s": None},
            created_by="op",
            request_id=request_id,
        ),
    )


@pytest.fixture
def sid(store) -> str:
    assert new_swarm(store) == {"swarm_id": "s-1", "created": True}
    return "s-1"


def lead(store, sid: str) -> dict[str, Any]:
    return {"id": "lead", **doc(store, paths.agent(sid, "lead"))}


def spawn(
    store, sid: str, tuid: str = "tu-spawn", spec=SPEC, max_agents=5, max_depth=2, parent=None
):
    rule = team.spawn_agent(
        sid, parent or lead(store, sid), spec, max_agents=max_agents, max_depth=max_depth
    )
    return store.executor.run_effect(sid, tuid, "spawn_agent", rule)


def grant(store, sid: str, usd: float, aid: str = "lead", chunk: float | None = None, cap=100.0):
    rule = swarm_rules.grant_allowance(
        sid, aid, {"usd": usd}, {"usd": usd if chunk is None else chunk}, daily_cap_usd=cap, day=DAY
    )
    # As the store grants: without a transaction (FirestoreExecutor.run_unlocked).
    outcome = store.executor.run_unlocked(rule, what="grant").outcome
    if isinstance(outcome, dc.Refusal):
        return outcome.reason, {}
    return None, dict(outcome.result["grant"])


def spend(store, sid: str, aid: str, usd: float) -> None:
    store.executor.write(
        lease.commit_step(
            sid, aid, "t", conv_version=1, read_ids=[], usage=None, spent={"usd": usd}, activity="x"
        ),
        what="spend",
    )


def day_granted(store, day: str = DAY) -> float | None:
    """The day's granted USD over its shards; None when no shard was ever written."""
    found = [store.executor.get(paths.day_shard(day, j)) for j in range(shards.DAY_SHARDS)]
    written = [d["granted_usd"] for d in found if d is not None]
    return sum(written) if written else None


def budget_shards(store, sid: str) -> list[dict]:
    found = [store.executor.get(paths.budget_shard(sid, i)) for i in range(shards.SWARM_SHARDS)]
    return [d for d in found if d is not None]


def swarm_granted(store, sid: str, axis: str = "usd") -> float:
    total = sum(d.get(f"granted_{axis}", 0) for d in budget_shards(store, sid))
    assert store.queries.swarm_granted(sid)[axis] == pytest.approx(total)  # the store's sum
    return total


def held_today(store, sid: str) -> float:
    return sum(
        sum(d["held"].values()) for d in budget_shards(store, sid) if d.get("held_day") == DAY
    )


def acquire(store, sid: str, turn: str, ttl: float = 60, aid: str = "lead"):
    # As the store takes a lease: without a transaction (FirestoreExecutor.run_unlocked).
    rule = lease.acquire_lease(sid, aid, turn, ttl, at=now())
    return lease.lease_result(store.executor.run_unlocked(rule, what="acquire"))


def release(store, sid: str, turn: str, updates=None, retried=False, aid: str = "lead") -> bool:
    rule = lease.release_lease(sid, aid, turn, updates or {}, retried=retried)
    return ok(store, rule)["wake"]


def expire(store, sid: str, turn: str, at: dt.datetime | None = None) -> bool:
    return ok(store, lease.expire_lease(sid, "lead", turn, at=at or now()))["expired"]


def status(store, sid: str, new: SwarmStatus, actor="op", reason="", summary=""):
    return swarm_rules.set_swarm_status(
        sid, new, actor=actor, reason=reason, summary=summary, at=now(), day=DAY
    )


# -- creating a swarm --------------------------------------------------------------------------


def test_create_swarm_writes_lead_and_goal_once_per_request_id(store):
    first = new_swarm(store, request_id="req-1", sid="s-a")
    again = new_swarm(store, request_id="req-1", sid="s-b")
    assert (first, again) == (
        {"swarm_id": "s-a", "created": True},
        {"swarm_id": "s-a", "created": False},
    )
    assert [i for i, _ in listed(store, "swarms")] == ["s-a"]
    assert doc(store, paths.agent("s-a", "lead"))["role"] == "lead"
    goal = doc(store, paths.message("s-a", "goal"))
    assert (goal["body"], goal["to"], goal["from"], goal["read"]) == (
        "Goal: ship it",
        "lead",
        "human:op",
        False,
    )
    swarm = doc(store, paths.swarm("s-a"))
    assert (swarm["status"], swarm["agent_count"], swarm["request_id"]) == ("running", 1, "req-1")
    assert swarm["granted"] == {"usd": 0, "tokens": 0, "turns": 0}
    assert doc(store, paths.processed("swarm-request:req-1"))["swarm_id"] == "s-a"
    assert events(store, "s-a") == ["swarm_started"]


def test_create_swarm_without_request_id_always_creates(store):
    assert new_swarm(store, sid="s-a")["created"] and new_swarm(store, sid="s-b")["created"]
    assert [i for i, _ in listed(store, "swarms")] == ["s-a", "s-b"]
    assert listed(store, "processed") == []


# -- spawning ----------------------------------------------------------------------------------


def test_spawn_starts_a_teammate_once_and_tells_it_its_instructions(store, sid):
    first = spawn(store, sid)
    assert not first.is_error and first.content == {"agent": "bob", "status": "started"}
    assert first.ring == ("bob",)
    replay = spawn(store, sid)
    assert replay.replayed and replay.content == first.content and replay.ring == ("bob",)
    bob = doc(store, paths.agent(sid, "bob"))
    assert (bob["role"], bob["depth"], bob["parent_id"], bob["status"]) == (
        "teammate",
        1,
        "lead",
        "idle",
    )
    assert (bob["role_description"], bob["model"], bob["lease"]) == ("reviewer", "m", None)
    assert doc(store, paths.swarm(sid))["agent_count"] == 2  # not 3: the replay wrote nothing
    note = doc(store, paths.message(sid, "spawned-bob"))
    assert note["body"] == "You were started by lead. Your instructions: help"
    assert (note["from"], note["to"], note["kind"]) == ("lead", "bob", "system")
    assert events(store, sid) == ["agent_spawned", "swarm_started"]


def spawn_funded(store, sid: str, name: str, usd: float, cap: float = 100.0):
    rule = team.spawn_agent(
        sid,
        lead(store, sid),
        {**SPEC, "name": name},
        max_agents=50,
        max_depth=2,
        first_call={"usd": usd, "tokens": 1000, "turns": 1},
        daily_cap_usd=cap,
        day=DAY,
    )
    return store.executor.run_effect(sid, f"tu-{name}", "spawn_agent", rule)


def test_a_spawned_agent_starts_with_its_first_allowance_from_the_spawn_itself(store, sid):
    assert not spawn_funded(store, sid, "bob", 0.05).is_error
    bob = doc(store, paths.agent(sid, "bob"))
    # budget.chunk's numbers: four worst-case calls, within a share of the swarm budget.
    chunk = budget.chunk({"usd": 1.0}, {"usd": 0.05}, 2, 100.0)["usd"]
    assert bob["allowance"] == {"usd": pytest.approx(chunk), "tokens": 0, "turns": 0}
    assert swarm_granted(store, sid) == pytest.approx(chunk) == day_granted(store)
    assert held_today(store, sid) == pytest.approx(chunk)
    # Its first call is covered: the turn's grant writes nothing.
    rule = swarm_rules.grant_allowance(
        sid, "bob", {"usd": 0.05}, {"usd": 0.2}, daily_cap_usd=100, day=DAY
    )
    assert ok(store, rule) == {"grant": {}}
    # The swarm document took only the agent count: no budget write lands on it.
    assert "granted_day" not in doc(store, paths.swarm(sid))


def test_a_spawn_the_budget_cannot_fund_starts_the_agent_without_an_allowance(store, sid):
    assert not spawn_funded(store, sid, "bob", 5.0).is_error  # more than the whole budget
    assert doc(store, paths.agent(sid, "bob"))["allowance"]["usd"] == 0
    assert not spawn_funded(store, sid, "carol", 0.05, cap=0.0).is_error  # the daily cap
    assert doc(store, paths.agent(sid, "carol"))["allowance"]["usd"] == 0
    assert swarm_granted(store, sid) == 0 and day_granted(store) is None
    # Its first call asks again and is refused, fail-closed, as without the spawn's grant.
    err, _ = grant(store, sid, 5.0, aid="bob")
    assert err == "swarm usd budget exhausted: 0 of 1 granted, this call needs up to 5 more"


def test_agents_granted_together_write_different_shards_and_never_pass_the_budget(store, sid):
    names = [f"w{i}" for i in range(12)]
    for name in names:
        assert not spawn(store, sid, f"tu-{name}", {**SPEC, "name": name}, max_agents=50).is_error
    for name in names:
        assert grant(store, sid, 0.05, aid=name, chunk=0.0625)[0] is None
    assert len(budget_shards(store, sid)) > 4  # spread, not one hot document
    assert sum(1 for j in range(shards.DAY_SHARDS) if store.executor.get(paths.day_shard(DAY, j)))
    for d in budget_shards(store, sid):
        assert d["granted_usd"] <= 1.0 / shards.SWARM_SHARDS + 1e-9  # each shard's share
    # Drain the budget: grants go on until less than a call is left anywhere, never past it.
    refused = 0
    for rnd in range(4):
        for name in names:
            spend(store, sid, name, doc(store, paths.agent(sid, name))["allowance"]["usd"] / 4)
            err, _ = grant(store, sid, 0.05 * (rnd + 2), aid=name, chunk=0.0625)
            refused += err is not None
    assert refused and swarm_granted(store, sid) <= 1.0 + 1e-9
    allowances = sum(doc(store, paths.agent(sid, n))["allowance"]["usd"] for n in names)
    assert allowances == pytest.approx(swarm_granted(store, sid)) == day_granted(store)


def test_spawn_refusals_name_the_reason_and_write_only_the_marker(store, sid):
    spawn(store, sid)
    taken = spawn(store, sid, "tu-2")
    assert taken.is_error and taken.content == {
        "error": "an agent named bob already exists; choose another name",
        "code": "conflict",
    }
    full = spawn(store, sid, "tu-3", {**SPEC, "name": "carol"}, max_agents=2)
    assert full.content == {
        "error": "this swarm already has 2 agents, the maximum",
        "code": "conflict",
    }
    bob = {"id": "bob", **doc(store, paths.agent(sid, "bob"))}
    deep = spawn(store, sid, "tu-4", {**SPEC, "name": "dave"}, max_depth=1, parent=bob)
    assert deep.content == {"error": "spawn depth 2 exceeds the limit of 1", "code": "forbidden"}
    again = spawn(store, sid, "tu-4", {**SPEC, "name": "dave"}, max_depth=9, parent=bob)
    assert again.replayed and again.content == deep.content  # the refusal is what was stored
    assert store.executor.get(paths.agent(sid, "carol")) is None
    assert store.executor.get(paths.agent(sid, "dave")) is None
    assert doc(store, paths.swarm(sid))["agent_count"] == 2
    gone = spawn(store, "s-nope", "tu-5", parent={"id": "lead"})
    assert gone.content == {"error": "swarm s-nope does not exist", "code": "not_found"}


# -- approvals ---------------------------------------------------------------------------------


def ask(store, sid: str, tuid: str, approval_id: str):
    rule = team.request_approval(sid, "lead", approval_id, "deploy", "prod")
    return store.executor.run_effect(sid, tuid, "request_approval", rule)


def decide(sid: str, approval_id: str, approve: bool, comment: str = ""):
    return team.decide_approval(
        sid, approval_id, approve=approve, actor="op", comment=comment, at=now()
    )


def test_an_approval_request_ends_the_turn_and_waits_once(store, sid):
    res = ask(store, sid, "r1", "ap-1")
    assert res.ends_turn and not res.is_error
    assert res.content == {
        "approval": "ap-1",
        "status": "pending",
        "note": "Your turn ends now; the decision will arrive in your inbox.",
    }
    assert ask(store, sid, "r1", "ap-1").replayed
    ap = doc(store, paths.approval(sid, "ap-1"))
    assert (ap["agent_id"], ap["action"], ap["detail"], ap["status"]) == (
        "lead",
        "deploy",
        "prod",
        "pending",
    )
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["status"], agent["activity"]) == (
        "waiting_approval",
        "waiting for approval: deploy",
    )
    assert events(store, sid) == ["approval_requested", "swarm_started"]


def test_a_decision_wakes_only_an_agent_still_waiting_for_it(store, sid):
    for tuid, aid in (("r1", "ap-1"), ("r2", "ap-2")):
        ask(store, sid, tuid, aid)
    decided = ok(store, decide(sid, "ap-1", True, "ok"))
    assert (decided["status"], decided["decided_by"], decided["comment"], decided["id"]) == (
        "approved",
        "op",
        "ok",
        "ap-1",
    )
    assert decided["agent_id"] == "lead" and decided["action"] == "deploy"
    assert (doc(store, paths.agent(sid, "lead"))["status"]) == "idle"
    note = doc(store, paths.message(sid, "approval-ap-1"))
    assert note["body"] == "Your request 'deploy' was approved by op. Comment: ok"
    assert (note["from"], note["kind"], note["approval"], note["approved"]) == (
        "human:op",
        "approval",
        "ap-1",
        True,
    )
    store.executor.write([swarm_rules.agent_status(sid, "lead", "failed", error="gone")], what="t")
    rejected = ok(store, decide(sid, "ap-2", False))
    assert rejected["status"] == "rejected"
    assert doc(store, paths.agent(sid, "lead"))["status"] == "failed"
    assert (
        doc(store, paths.message(sid, "approval-ap-2"))["body"]
        == "Your request 'deploy' was rejected by op."
    )
    assert refused(store, decide(sid, "ap-2", True)) == (
        "approval ap-2 was already rejected",
        "conflict",
        "conflict",
    )
    assert refused(store, decide(sid, "ap-9", True)) == (
        "approval ap-9 does not exist",
        "not_found",
        "not_found",
    )
    assert doc(store, paths.approval(sid, "ap-2"))["status"] == "rejected"
    with pytest.raises(Conflict):
        store.executor.run(decide(sid, "ap-2", True), what="t").decision()


# -- stopping an agent -------------------------------------------------------------------------


def test_stopping_an_agent_is_final_and_said_once(store, sid):
    spawn(store, sid)
    stopped = ok(store, team.stop_agent(sid, "bob", "op"))
    assert (stopped["id"], stopped["status"], stopped["activity"], stopped["stopped_by"]) == (
        "bob",
        "stopped",
        "stopped by op",
        "op",
    )
    assert ok(store, team.stop_agent(sid, "bob", "op"))["status"] == "stopped"  # no change
    assert events(store, sid).count("agent_stopped") == 1
    assert refused(store, team.stop_agent(sid, "ghost", "op")) == (
        f"agent ghost does not exist in swarm {sid}",
        "not_found",
        "not_found",
    )
    store.executor.write([swarm_rules.agent_status(sid, "lead", "failed")], what="t")
    assert refused(store, team.stop_agent(sid, "lead", "op")) == (
        "agent lead cannot go from failed to stopped; allowed: idle",
        "invalid_transition",
        "invalid_transition",
    )


# -- the swarm's state machine and the give-back of allowances ---------------------------------


def test_the_same_status_again_changes_nothing_and_illegal_moves_are_refused(store, sid):
    same = ok(store, status(store, sid, SwarmStatus.RUNNING))
    assert same["id"] == sid and same["status"] == "running"
    paused = ok(store, status(store, sid, SwarmStatus.PAUSED, reason="lunch", summary="s"))
    assert (paused["status"], paused["status_reason"], paused["summary"]) == (
        "paused",
        "lunch",
        "s",
    )
    assert isinstance(paused["updated_at"], dt.datetime)
    assert "swarm_paused" in events(store, sid)
    ok(store, status(store, sid, SwarmStatus.KILLED))
    assert refused(store, status(store, sid, SwarmStatus.RUNNING)) == (
        f"swarm {sid} cannot go from killed to running; allowed: nothing (final)",
        "invalid_transition",
        "invalid_transition",
    )
    with pytest.raises(InvalidTransition, match="from killed to running"):
        store.executor.run(status(store, sid, SwarmStatus.RUNNING), what="t").decision()
    assert doc(store, paths.swarm(sid))["status"] == "killed"
    new_swarm(store, sid="s-2")
    ok(store, status(store, "s-2", SwarmStatus.COMPLETED))
    with pytest.raises(InvalidTransition, match="from completed to running"):
        store.executor.run(status(store, "s-2", SwarmStatus.RUNNING), what="t").decision()
    assert doc(store, paths.swarm("s-2"))["status"] == "completed"
    assert refused(store, status(store, "s-nope", SwarmStatus.PAUSED)) == (
        "swarm s-nope does not exist",
        "not_found",
        "not_found",
    )


def test_an_ended_swarm_gives_unspent_allowance_back_to_the_daily_cap(store, sid):
    new_swarm(store, sid="s-2")
    for swarm in (sid, "s-2"):
        assert grant(store, swarm, 0.4)[0] is None
    spend(store, sid, "lead", 0.1)
    assert day_granted(store) == pytest.approx(0.8)
    ok(store, status(store, sid, SwarmStatus.COMPLETED, actor="lead"))
    assert day_granted(store) == pytest.approx(0.5)  # 0.3 unspent came back
    assert doc(store, paths.agent(sid, "lead"))["allowance"]["usd"] == pytest.approx(0.1)
    # A lead still in a turn keeps what covers its call in flight.
    assert acquire(store, "s-2", "turn-1").kind == "acquired"
    ok(store, status(store, "s-2", SwarmStatus.FAILED, reason="stop"))
    assert day_granted(store) == pytest.approx(0.5)
    # Ending again (a replay) gives nothing back twice.
    ok(store, status(store, sid, SwarmStatus.COMPLETED, actor="lead"))
    assert day_granted(store) == pytest.approx(0.5)


def test_a_stopped_swarm_gives_back_and_a_paused_one_keeps_its_allowances(store, sid):
    spawn(store, sid)
    assert grant(store, sid, 0.2)[0] is None and grant(store, sid, 0.3, aid="bob")[0] is None
    ok(store, status(store, sid, SwarmStatus.PAUSED))
    assert day_granted(store) == pytest.approx(0.5)
    ok(store, status(store, sid, SwarmStatus.KILLED))
    assert day_granted(store) == pytest.approx(0.0)
    assert doc(store, paths.agent(sid, "bob"))["allowance"]["usd"] == pytest.approx(0.0)


def test_the_swarms_granted_total_falls_by_what_its_agents_give_back(store, sid):
    spawn(store, sid)
    assert grant(store, sid, 0.4)[0] is None and grant(store, sid, 0.3, aid="bob")[0] is None
    spend(store, sid, "lead", 0.1)
    assert acquire(store, sid, "turn-1", aid="bob").kind == "acquired"
    ended = ok(store, status(store, sid, SwarmStatus.KILLED))
    # The lead's unspent 0.3 came back; bob, in a turn, keeps what covers its call in flight.
    assert swarm_granted(store, sid) == pytest.approx(0.4)
    assert held_today(store, sid) == pytest.approx(0.4)
    assert day_granted(store) == pytest.approx(0.4)
    held = sum(doc(store, paths.agent(sid, a))["allowance"]["usd"] for a in ("lead", "bob"))
    assert swarm_granted(store, sid) == pytest.approx(held)
    assert ended["granted"]["usd"] == pytest.approx(0.4)  # the result shows it too
    assert swarm_granted(store, sid, "tokens") == 0 and swarm_granted(store, sid, "turns") == 0
    for d in budget_shards(store, sid):
        assert d["granted_usd"] >= 0  # no shard reads as headroom it never had
    # The lead finishing another swarm gives its own back, and its total falls with it.
    new_swarm(store, sid="s-2")
    grant(store, "s-2", 0.25)
    assert acquire(store, "s-2", "turn-2").kind == "acquired"
    store.executor.run_effect("s-2", "f1", "finish_swarm", finish("s-2"))
    assert swarm_granted(store, "s-2") == 0 and held_today(store, "s-2") == 0
    assert day_granted(store) == pytest.approx(0.4)
    # The swarm document takes no budget write: its own fields stay as they were created.
    assert doc(store, paths.swarm(sid))["granted"] == {"usd": 0, "tokens": 0, "turns": 0}
    assert "granted_day" not in doc(store, paths.swarm(sid))


def test_a_finished_swarm_keeps_no_reason_from_an_earlier_pause_or_resume(store, sid):
    ok(store, status(store, sid, SwarmStatus.PAUSED, reason="budget raised"))
    resumed = ok(store, status(store, sid, SwarmStatus.RUNNING, reason="resume"))
    assert resumed["status_reason"] == "resume"
    store.executor.run_effect(sid, "f1", "finish_swarm", finish(sid))
    swarm = doc(store, paths.swarm(sid))
    assert (swarm["status"], swarm["summary"], swarm["status_reason"]) == (
        "completed",
        "all done",
        None,
    )
    # Ended by an operator without a reason: none is shown either.
    new_swarm(store, sid="s-2")
    ok(store, status(store, "s-2", SwarmStatus.PAUSED, reason="lunch"))
    ok(store, status(store, "s-2", SwarmStatus.KILLED))
    assert doc(store, paths.swarm("s-2"))["status_reason"] is None


def test_allowances_of_an_earlier_day_are_not_given_back(store, sid):
    store.executor.write(
        [dc.set_doc(paths.budget_shard(sid, 0), {"held_day": "2020-01-01", "held": {"3": 0.5}})],
        what="seed",
    )
    store.executor.write([dc.update(paths.agent(sid, "lead"), {"allowance.usd": 0.5})], what="seed")
    ok(store, status(store, sid, SwarmStatus.KILLED))
    assert day_granted(store) is None
    assert doc(store, paths.agent(sid, "lead"))["allowance"]["usd"] == 0.5


def finish(sid: str, outcome: str = "completed", summary: str = "all done"):
    return team.finish_swarm(sid, "lead", outcome, summary, day=DAY)


def test_a_lead_finishing_its_swarm_gives_its_own_allowance_back(store, sid):
    grant(store, sid, 0.4)
    assert acquire(store, sid, "turn-1").kind == "acquired"
    res = store.executor.run_effect(sid, "f1", "finish_swarm", finish(sid))
    assert not res.is_error and res.ends_turn
    assert res.content == {"swarm": sid, "status": "completed"}
    assert day_granted(store) == 0
    swarm = doc(store, paths.swarm(sid))
    assert (swarm["status"], swarm["summary"]) == ("completed", "all done")
    assert swarm["finished_at"] is not None
    assert "swarm_completed" in events(store, sid)
    assert store.executor.run_effect(sid, "f1", "finish_swarm", finish(sid)).replayed


def test_finishing_as_failed_and_finishing_an_ended_swarm(store, sid):
    new_swarm(store, sid="s-2")
    res = store.executor.run_effect("s-2", "f1", "finish_swarm", finish("s-2", "failed"))
    assert res.content == {"swarm": "s-2", "status": "failed"}
    again = store.executor.run_effect("s-2", "f2", "finish_swarm", finish("s-2"))
    assert again.is_error and again.content == {
        "error": "swarm cannot go from failed to completed; allowed: nothing (final)",
        "code": "invalid_transition",
    }
    gone = store.executor.run_effect("s-9", "f3", "finish_swarm", finish("s-9"))
    assert gone.content == {"error": "swarm s-9 does not exist", "code": "not_found"}


def test_running_and_ended_checks_refuse_with_their_codes():
    sid = "s-1"
    swarm_rules.ensure_running(sid, {"status": "paused"})
    swarm_rules.ensure_ended(sid, {"status": "killed"})
    with pytest.raises(Conflict, match=f"swarm {sid} is completed") as ended:
        swarm_rules.ensure_running(sid, {"status": "completed"})
    assert ended.value.code == "swarm_ended"
    with pytest.raises(Conflict, match="stop it first") as active:
        swarm_rules.ensure_ended(sid, {"status": "paused"})
    assert active.value.code == "swarm_active"


# -- granting allowances -----------------------------------------------------------------------


def test_allowances_are_fail_closed(store, sid):
    err, got = grant(store, sid, 0.6)
    assert err is None and got == {"usd": 0.6}
    spend(store, sid, "lead", 0.6)
    err, got = grant(store, sid, 0.6)
    assert got == {} and err == (
        "swarm usd budget exhausted: 0.6 of 1 granted, this call needs up to 0.6 more"
    )
    assert swarm_granted(store, sid) == pytest.approx(0.6)
    assert doc(store, paths.agent(sid, "lead"))["allowance"]["usd"] == pytest.approx(0.6)


def test_a_grant_takes_a_chunk_within_what_is_left_and_records_the_day(store, sid):
    err, got = grant(store, sid, 0.1, chunk=0.3)
    assert err is None and got == {"usd": 0.3}
    assert grant(store, sid, 0.2) == (None, {})  # covered already: nothing written
    err, got = grant(store, sid, 0.5, chunk=5.0)  # short 0.3, chunk capped by what is left
    assert err is None and got == {"usd": pytest.approx(0.7)}
    assert swarm_granted(store, sid) == pytest.approx(1.0)
    assert held_today(store, sid) == pytest.approx(1.0)
    assert day_granted(store) == pytest.approx(1.0)


def test_unlimited_axes_grant_without_touching_the_daily_cap(store, sid):
    rule = swarm_rules.grant_allowance(
        sid, "lead", {"tokens": 100, "turns": 1}, {"tokens": 500}, daily_cap_usd=1, day=DAY
    )
    assert ok(store, rule)["grant"] == {"tokens": 500, "turns": 1}
    assert day_granted(store) is None and held_today(store, sid) == 0
    assert doc(store, paths.agent(sid, "lead"))["allowance"]["tokens"] == 500


def test_the_global_daily_cap_trims_a_chunk_then_refuses(store, sid):
    new_swarm(store, usd=None, sid="s-2")
    # Binary fractions, so the sums are exact and the cap's edge is where it seems to be.
    assert grant(store, "s-2", 0.25, chunk=0.5, cap=1.0) == (None, {"usd": 0.5})
    # The chunk would pass the cap: only what this call is short of is granted.
    assert grant(store, sid, 0.25, chunk=0.75, cap=1.0) == (None, {"usd": 0.25})
    assert day_granted(store) == 0.75
    assert grant(store, "s-2", 0.75, chunk=0.75, cap=1.0) == (None, {"usd": 0.25})  # to the edge
    assert day_granted(store) == 1.0
    err, got = grant(store, "s-2", 1.0, cap=1.0)
    assert got == {} and err == "global daily USD cap reached: 1.0000 of 1"
    assert day_granted(store) == 1.0
    assert held_today(store, "s-2") == 0.75


def test_a_grant_for_a_gone_agent_is_refused(store, sid):
    assert grant(store, sid, 0.1, aid="ghost") == ("swarm or agent is gone", {})
    assert grant(store, "s-nope", 0.1) == ("swarm or agent is gone", {})


def test_halting_for_budget_fails_the_agent_or_pauses_the_swarm(store, sid):
    spawn(store, sid)
    ok(
        store,
        swarm_rules.halt_for_budget(sid, "bob", "agent usd budget reached", at=now(), day=DAY),
    )
    bob = doc(store, paths.agent(sid, "bob"))
    assert (bob["status"], bob["last_error"]) == ("failed", "agent usd budget reached")
    notes = [d for _, d in listed(store, paths.messages(sid)) if d.get("about") == "bob"]
    assert [(n["to"], n["from"], n["kind"], n["body"]) for n in notes] == [
        ("lead", "system", "system", "bob stopped: agent usd budget reached")
    ]
    assert doc(store, paths.swarm(sid))["status"] == "running"
    halt = swarm_rules.halt_for_budget(sid, "lead", "swarm usd budget exhausted", at=now(), day=DAY)
    ok(store, halt)
    swarm = doc(store, paths.swarm(sid))
    assert (swarm["status"], swarm["status_reason"]) == ("paused", "swarm usd budget exhausted")
    ok(store, halt)  # already paused: nothing more to stop
    ok(store, status(store, sid, SwarmStatus.KILLED))
    assert ok(store, halt) == {"halted": "swarm"}
    assert doc(store, paths.swarm(sid))["status"] == "killed"
    gone = swarm_rules.halt_for_budget("s-9", "lead", "agent x", at=now(), day=DAY)
    assert refused(store, gone) == ("swarm s-9 does not exist", "not_found", "not_found")


# -- the kill switch, notes and events ---------------------------------------------------------


def test_kill_switch_changes_are_audited_and_need_a_reason(store):
    blank = swarm_rules.set_kill_switch(engaged=True, reason="  ", actor="op", at=now())
    assert blank == dc.Refusal(
        "a reason is required to change the kill switch", "reason_required", "conflict"
    )
    with pytest.raises(Conflict) as e:
        raise blank.exception()
    assert e.value.code == "reason_required"
    for engaged in (True, False):
        d = swarm_rules.set_kill_switch(engaged=engaged, reason="drill", actor="op", at=now())
        assert isinstance(d, dc.Decision) and d.result["engaged"] is engaged
        store.executor.write(d.writes, what="kill switch")
    assert doc(store, paths.kill_switch())["engaged"] is False
    audit = listed(store, paths.kill_switch_audit())
    assert sorted(a["engaged"] for _, a in audit) == [False, True]


def test_lead_notes_and_events_are_written_as_they_are(store, sid):
    store.executor.write(
        [
            swarm_rules.lead_note(sid, "lead", "bob", "bob failed"),
            swarm_rules.event(sid, "agent_failed", "bob", "x" * 600, {"n": 1}),
        ],
        what="t",
    )
    (note,) = [d for _, d in listed(store, paths.messages(sid)) if d["kind"] == "system"]
    assert (note["to"], note["about"], note["read"]) == ("lead", "bob", False)
    (ev,) = [d for _, d in listed(store, paths.events(sid)) if d["kind"] == "agent_failed"]
    assert len(ev["summary"]) == 500 and ev["data"] == {"n": 1}


# -- the turn lease ----------------------------------------------------------------------------


def test_lease_coalesces_a_second_turn_and_reports_wake(store, sid):
    first = acquire(store, sid, "turn-1")
    assert first.kind == "acquired" and first.agent["lease"]["turn"] == "turn-1"
    assert first.swarm["status"] == "running" and first.kill == {"engaged": False}
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["status"], agent["activity"], agent["wake_pending"]) == (
        "running",
        "thinking",
        False,
    )
    assert acquire(store, sid, "turn-1").kind == "acquired"  # its own lease again
    second = acquire(store, sid, "turn-2")
    assert second.kind == "busy"
    assert doc(store, paths.agent(sid, "lead"))["wake_pending"] is True
    assert acquire(store, sid, "turn-3").kind == "busy"  # already pending: stays pending
    assert release(store, sid, "turn-2") is False  # not its lease
    assert release(store, sid, "turn-1", {"turns": 1}) is True
    agent = doc(store, paths.agent(sid, "lead"))
    assert agent["lease"] is None and agent["wake_pending"] is False and agent["turns"] == 1
    assert (agent["status"], agent["activity"]) == ("idle", "waiting for mail")


def test_release_keeps_a_status_the_turn_set_and_says_maybe_after_a_retry(store, sid):
    acquire(store, sid, "turn-1")
    assert release(store, sid, "turn-1", {"status": "waiting_approval", "activity": "a"}) is False
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["status"], agent["activity"]) == ("waiting_approval", "a")
    assert release(store, sid, "turn-1", retried=True) is True  # maybe committed: look for mail
    assert release(store, sid, "turn-1", aid="ghost") is False


def test_expired_lease_is_taken_over_and_the_watchdog_only_frees_dead_turns(store, sid):
    assert acquire(store, sid, "dead", 0).kind == "acquired"  # expires at once
    assert expire(store, sid, "other-turn") is False
    assert expire(store, sid, "dead") is True
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["lease"], agent["status"], agent["activity"]) == (
        None,
        "idle",
        "recovered after a crash",
    )
    assert expire(store, sid, "dead") is False  # freed already
    assert acquire(store, sid, "dead-2", 0).kind == "acquired"
    assert acquire(store, sid, "live", 60).kind == "acquired"  # an expired lease is taken over
    assert expire(store, sid, "live") is False  # not expired: left alone
    later = now() + dt.timedelta(seconds=120)
    assert expire(store, sid, "live", at=later) is True
    assert ok(store, lease.expire_lease(sid, "ghost", "live", at=later)) == {"expired": False}


def test_a_retry_takes_back_the_lease_its_own_turn_failed_to_give_back(store, sid):
    reclaim = lambda turn: ok(store, lease.reclaim_lease(sid, "lead", turn))["expired"]  # noqa: E731
    assert acquire(store, sid, "failed", 600).kind == "acquired"  # its release never landed
    assert acquire(store, sid, "doorbell", 600).kind == "busy"  # later doorbells only coalesce
    assert reclaim("other-turn") is False and reclaim("") is False
    assert doc(store, paths.agent(sid, "lead"))["lease"]["turn"] == "failed"
    assert reclaim("failed") is True  # long before the lease's expiry
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["lease"], agent["status"], agent["wake_pending"], agent["activity"]) == (
        None,
        "idle",
        False,
        "recovered for a retry",
    )
    assert reclaim("failed") is False  # freed already
    assert acquire(store, sid, "next", 600).kind == "acquired"
    assert reclaim("failed") is False  # a live turn's lease is never taken
    assert doc(store, paths.agent(sid, "lead"))["lease"]["turn"] == "next"
    assert ok(store, lease.reclaim_lease(sid, "ghost", "failed")) == {"expired": False}


def test_halted_swarm_kill_switch_or_stopped_agent_refuse_the_lease(store, sid):
    spawn(store, sid)
    d = swarm_rules.set_kill_switch(engaged=True, reason="drill", actor="admin", at=now())
    store.executor.write(d.writes, what="t")
    res = acquire(store, sid, "t")
    assert (res.kind, res.reason) == ("inactive", "kill switch engaged: drill")
    off = swarm_rules.set_kill_switch(engaged=False, reason="done", actor="admin", at=now())
    store.executor.write(off.writes, what="t")
    ok(store, status(store, sid, SwarmStatus.PAUSED))
    assert (acquire(store, sid, "t").kind, acquire(store, sid, "t").reason) == (
        "inactive",
        "swarm is paused",
    )
    assert doc(store, paths.agent(sid, "lead"))["lease"] is None  # nothing consumed
    ok(store, team.stop_agent(sid, "bob", "op"))
    stopped = acquire(store, sid, "t", aid="bob")
    assert (stopped.kind, stopped.reason) == ("inactive", "agent is stopped")
    missing = acquire(store, sid, "t", aid="ghost")
    assert (missing.kind, missing.reason) == (
        "missing",
        f"agent ghost in swarm {sid} does not exist",
    )


def test_a_step_commit_records_version_usage_and_read_mail(store, sid):
    store.executor.write(
        lease.commit_step(
            sid,
            "lead",
            "turn-1",
            conv_version=3,
            read_ids=["goal"],
            usage={"input_tokens": 10, "cost_usd": 0.01},
            spent={"usd": 0.01},
            activity="working",
        ),
        what="t",
    )
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["conv_version"], agent["activity"]) == (3, "working")
    assert agent["usage"]["input_tokens"] == 10 and agent["usage"]["output_tokens"] == 0
    assert agent["spent"]["usd"] == pytest.approx(0.01)
    goal = doc(store, paths.message(sid, "goal"))
    assert (goal["read"], goal["read_by_turn"]) == (True, "turn-1")
    dropped = lease.commit_step(
        sid,
        "lead",
        "t2",
        conv_version=None,
        read_ids=[],
        usage={"input_tokens": 5},
        spent=None,
        activity="y",
    )
    store.executor.write(dropped, what="t")
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["conv_version"], agent["usage"]["input_tokens"]) == (3, 15)


def test_a_step_commit_keeps_the_container_and_counts_searches(store, sid):
    held = {"id": "container_1", "expires_at": "2026-12-02T01:00:00Z"}
    store.executor.write(
        lease.commit_step(
            sid,
            "lead",
            "turn-1",
            conv_version=1,
            read_ids=[],
            usage={"web_search_requests": 2, "cost_usd": 0.02},
            spent={"usd": 0.02},
            activity="working",
            container=held,
        ),
        what="t",
    )
    agent = doc(store, paths.agent(sid, "lead"))
    assert agent["container"] == held and agent["usage"]["web_search_requests"] == 2


@pytest.mark.parametrize("paused", [True, False])
def test_a_step_commit_says_whether_its_answer_was_paused(store, sid, paused):
    def commit(version: int, paused: bool | None):
        writes = lease.commit_step(
            sid, "lead", "turn-1", conv_version=version, read_ids=[], usage=None, spent=None,
            activity="working", paused=paused,
        )  # fmt: skip
        store.executor.write(writes, what="t")

    commit(1, paused)
    assert doc(store, paths.agent(sid, "lead"))["paused_answer"] is paused
    commit(2, None)  # a commit that says nothing leaves it as it was
    assert doc(store, paths.agent(sid, "lead"))["paused_answer"] is paused


def test_unknown_swarm_is_not_found_by_the_store_facing_errors(store, sid):
    with pytest.raises(NotFound, match="swarm s-nope does not exist"):
        store.executor.run(status(store, "s-nope", SwarmStatus.PAUSED), what="t").decision()
