"""One agent steered by a human, carried out by both stores: an interrupt, a pause, a resume;
each outcome, each refusal (message and code), and the lease a paused agent is refused."""

from __future__ import annotations

import pytest

from cloudswarm.core import agent_control, paths, swarm_rules, team
from cloudswarm.core.models import SwarmStatus
from tests.integration.contract.test_team import (
    acquire,
    doc,
    events,
    listed,
    new_swarm,
    ok,
    refused,
    release,
    spawn,
    status,
)


@pytest.fixture
def sid(store) -> str:
    """A running swarm with its lead, the goal in its inbox."""
    return new_swarm(store)["swarm_id"]


def interrupt(sid: str, aid: str = "lead", mid: str = "m-int", body: str = "stop that"):
    return agent_control.interrupt_agent(sid, aid, mid, body, "op")


def test_an_interrupt_leaves_a_message_and_counts_only_against_a_running_turn(store, sid):
    rule = interrupt(sid)
    outcome = store.executor.run(rule, what="t").decision()
    assert (dict(outcome.result), outcome.ring) == ({"message_id": "m-int"}, ("lead",))
    msg = doc(store, paths.message(sid, "m-int"))
    assert (msg["from"], msg["to"], msg["kind"], msg["body"], msg["read"]) == (
        "human:op",
        "lead",
        "interrupt",
        "stop that",
        False,
    )
    assert "interrupts" not in doc(store, paths.swarm(sid))  # no turn was running
    assert acquire(store, sid, "turn-1").swarm.get("interrupts") is None
    ok(store, interrupt(sid, mid="m-int-2"))
    ok(store, interrupt(sid, mid="m-int-3"))
    assert doc(store, paths.swarm(sid))["interrupts"] == {"lead": 2}
    spawn(store, sid)
    assert acquire(store, sid, "turn-b", aid="bob").kind == "acquired"
    ok(store, interrupt(sid, aid="bob", mid="m-int-4"))
    assert doc(store, paths.swarm(sid))["interrupts"] == {"lead": 2, "bob": 1}
    assert events(store, sid).count("agent_interrupted") == 4


def test_interrupt_refusals(store, sid):
    assert refused(store, interrupt(sid, aid="ghost")) == (
        f"agent ghost does not exist in swarm {sid}",
        "not_found",
        "not_found",
    )
    assert refused(store, interrupt("s-none")) == (
        "swarm s-none does not exist",
        "not_found",
        "not_found",
    )
    spawn(store, sid)
    ok(store, team.stop_agent(sid, "bob", "op"))
    assert refused(store, interrupt(sid, aid="bob")) == (
        "agent bob is stopped",
        "agent_inactive",
        "conflict",
    )
    ok(store, status(store, sid, SwarmStatus.KILLED))
    assert refused(store, interrupt(sid)) == (f"swarm {sid} is killed", "swarm_ended", "conflict")
    assert [i for i, _ in listed(store, paths.messages(sid)) if i.startswith("m-int")] == []


def test_a_paused_agent_is_refused_its_lease_and_keeps_its_mail_until_resumed(store, sid):
    paused = ok(store, agent_control.pause_agent(sid, "lead", "op", "look first"))
    assert (paused["id"], paused["status"], paused["activity"]) == (
        "lead",
        "paused",
        "paused by op: look first",
    )
    assert ok(store, agent_control.pause_agent(sid, "lead", "op"))["status"] == "paused"  # again
    assert events(store, sid).count("agent_paused") == 1
    res = acquire(store, sid, "turn-1")
    assert (res.kind, res.reason) == ("inactive", "agent is paused")
    assert doc(store, paths.message(sid, "goal"))["read"] is False
    assert doc(store, paths.agent(sid, "lead"))["lease"] is None
    resumed = ok(store, agent_control.resume_agent(sid, "lead", "op"))
    assert (resumed["status"], resumed["activity"]) == ("idle", "resumed by op")
    assert ok(store, agent_control.resume_agent(sid, "lead", "op"))["status"] == "idle"  # again
    assert events(store, sid).count("agent_resumed") == 1
    assert acquire(store, sid, "turn-2").kind == "acquired"


def test_pausing_a_running_turn_stops_it_and_its_release_keeps_the_pause(store, sid):
    assert acquire(store, sid, "turn-1").kind == "acquired"
    ok(store, agent_control.pause_agent(sid, "lead", "op"))
    assert doc(store, paths.swarm(sid))["interrupts"] == {"lead": 1}
    release(store, sid, "turn-1", {"resume_pending": True})
    agent = doc(store, paths.agent(sid, "lead"))
    assert (agent["status"], agent["resume_pending"]) == ("paused", True)
    ok(store, team.stop_agent(sid, "lead", "op"))  # a paused agent may still be stopped


def test_pause_and_resume_refusals(store, sid):
    store.executor.write([swarm_rules.agent_status(sid, "lead", "failed")], what="t")
    assert refused(store, agent_control.pause_agent(sid, "lead", "op")) == (
        "agent lead cannot go from failed to paused; allowed: idle",
        "invalid_transition",
        "invalid_transition",
    )
    assert refused(store, agent_control.resume_agent(sid, "lead", "op")) == (
        "agent lead is failed, not paused",
        "invalid_transition",
        "invalid_transition",
    )
    assert refused(store, agent_control.pause_agent(sid, "ghost", "op"))[1] == "not_found"
    ok(store, status(store, sid, SwarmStatus.COMPLETED))
    assert refused(store, agent_control.resume_agent(sid, "lead", "op")) == (
        f"swarm {sid} is completed",
        "swarm_ended",
        "conflict",
    )


def test_a_human_message_is_written_with_its_event_and_rings_the_agent(store, sid):
    messages_before = events(store, sid).count("message")
    rule = agent_control.human_message(sid, "lead", "m-h", "look at this", "op", "00-ab-cd-01")
    outcome = store.executor.run(rule, what="t").decision()
    assert (dict(outcome.result), outcome.ring) == ({"message_id": "m-h"}, ("lead",))
    msg = doc(store, paths.message(sid, "m-h"))
    assert (msg["from"], msg["to"], msg["kind"], msg["body"], msg["read"], msg["trace"]) == (
        "human:op",
        "lead",
        "message",
        "look at this",
        False,
        "00-ab-cd-01",
    )
    assert events(store, sid).count("message") == messages_before + 1
    untraced = agent_control.human_message(sid, "lead", "m-h2", "again", "op")
    ok(store, untraced)
    assert "trace" not in doc(store, paths.message(sid, "m-h2"))


def test_a_human_message_to_no_agent_or_no_swarm_is_refused_and_writes_nothing(store, sid):
    before = events(store, sid)
    assert refused(store, agent_control.human_message(sid, "ghost", "m-x", "hi", "op")) == (
        f"agent ghost does not exist in swarm {sid}",
        "not_found",
        "not_found",
    )
    assert refused(store, agent_control.human_message("s-none", "lead", "m-y", "hi", "op")) == (
        "swarm s-none does not exist",
        "not_found",
        "not_found",
    )
    assert store.executor.get(paths.message(sid, "m-x")) is None
    assert events(store, sid) == before
