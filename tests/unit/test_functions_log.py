"""A function that fails logs the failure with the swarm and agent it belongs to."""

from __future__ import annotations

import json
import logging

import flask
import pytest
from cloudevents.http import CloudEvent

from cloudswarm.core.tracing import NoTracer
from functions import main
from tests.unit.test_log import Capture


@pytest.fixture
def cap():
    c = Capture()
    logger = logging.getLogger("cloudswarm.functions")
    logger.addHandler(c.handler)
    yield c
    logger.removeHandler(c.handler)


def _doorbell(sid: str, aid: str) -> CloudEvent:
    attrs = {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "test"}
    return CloudEvent(attrs, {"message": {"attributes": {"swarm_id": sid, "agent_id": aid}}})


def test_a_failed_turn_logs_its_swarm_and_agent(cap, monkeypatch):
    def boom(deps, sid, aid, hop=None):
        raise RuntimeError("firestore went away")

    monkeypatch.setattr(main, "run_turn", boom)
    monkeypatch.setattr(main.runtime, "deps", lambda: None)
    with pytest.raises(RuntimeError):
        main.agent_turn(_doorbell("s-1", "worker-2"))
    (entry,) = [json.loads(line) for line in cap.text.splitlines()]
    assert entry["severity"] == "ERROR"
    assert (entry["swarm_id"], entry["agent_id"]) == ("s-1", "worker-2")
    assert "firestore went away" in entry["stack_trace"]


def test_a_failed_watchdog_logs_its_swarm_and_agent(cap, monkeypatch):
    class Store:
        def expire_lease(self, sid, aid, turn_id):
            raise RuntimeError("contention")

    monkeypatch.setattr(main.runtime, "store", lambda: Store())
    monkeypatch.setattr(main.runtime, "tracer", NoTracer)
    app = flask.Flask("t")
    body = {"swarm_id": "s-2", "agent_id": "lead", "turn_id": "t1"}
    with (
        app.test_request_context("/watchdog", method="POST", json=body),
        pytest.raises(RuntimeError),
    ):
        main.task_dispatch(flask.request)
    (entry,) = [json.loads(line) for line in cap.text.splitlines()]
    assert (entry["severity"], entry["swarm_id"], entry["agent_id"]) == ("ERROR", "s-2", "lead")


def test_a_retry_frees_the_lease_its_own_turn_still_holds_then_rings(monkeypatch):
    calls = []

    class Store:
        def reclaim_lease(self, sid, aid, turn_id):
            calls.append(("reclaim", sid, aid, turn_id))
            return True

    class Bus:
        def ring(self, sid, aid, redelivery=None):
            calls.append(("ring", sid, aid, redelivery))

    monkeypatch.setattr(main.runtime, "store", lambda: Store())
    monkeypatch.setattr(main.runtime, "bus", lambda: Bus())
    monkeypatch.setattr(main.runtime, "tracer", NoTracer)
    app = flask.Flask("t")
    body = {"swarm_id": "s-2", "agent_id": "w1", "turn_id": "t1"}
    with app.test_request_context("/retry", method="POST", json=body):
        assert main.task_dispatch(flask.request) == {"rang": True}
    # The doorbell still names the failed attempt it follows.
    assert calls == [
        ("reclaim", "s-2", "w1", "t1"),
        ("ring", "s-2", "w1", {"redelivery": "retry", "retry_of": "t1"}),
    ]
    calls.clear()
    # A retry scheduled before turn ids were carried only rings, as it did.
    with app.test_request_context("/retry", method="POST", json={"swarm_id": "s", "agent_id": "a"}):
        assert main.task_dispatch(flask.request) == {"rang": True}
    assert calls == [("ring", "s", "a", {"redelivery": "retry", "retry_of": ""})]
