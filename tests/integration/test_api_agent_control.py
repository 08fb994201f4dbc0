"""Steering one agent through the HTTP API on the local stack: an interrupting message, a pause
and a resume, with the roles that may and may not, and the refusals."""

from __future__ import annotations

import pytest

from cloudswarm import runtime
from cloudswarm.api.routing import ROLES
from tests.integration.test_api_fixtures import Api, error_of, functions, new_key
from tests.integration.test_api_routes import _ok, _swarm


@pytest.fixture(scope="module")
def api(stack) -> Api:
    with functions(stack, ["api"], {}) as fns:
        yield Api(fns["api"].url)


@pytest.fixture(scope="module")
def tok(api, project) -> dict[str, str]:
    """role -> a fresh token"""
    return {role: api.token(new_key(project, role)[1]) for role in ROLES}


def test_an_interrupt_is_a_message_that_stops_only_a_running_turn(api, tok):
    operator, viewer = tok["operator"], tok["viewer"]
    sid = _swarm(api, tok)
    path = f"/api/swarms/{sid}/agents/lead/messages"
    refused = api.request("POST", path, viewer, json={"body": "stop", "interrupt": True})
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    bad = api.request("POST", path, operator, json={"body": "stop", "interrupt": "maybe"})
    assert bad.status_code == 422, bad.text
    sent = _ok(api.request("POST", path, operator, json={"body": "stop", "interrupt": True}), 201)
    store = runtime.store()
    msg = store.p.messages(sid).document(sent["message_id"]).get().to_dict()
    assert (msg["kind"], msg["body"], msg["to"], msg["read"]) == (
        "interrupt",
        "stop",
        "lead",
        False,
    )
    assert "interrupts" not in store.get_swarm(sid)  # no turn was running: nothing to stop
    assert store.acquire_lease(sid, "lead", "turn-1", 60).kind == "acquired"  # a turn runs
    _ok(api.request("POST", path, operator, json={"body": "now", "interrupt": True}), 201)
    assert store.get_swarm(sid)["interrupts"] == {"lead": 1}
    plain = _ok(api.request("POST", path, operator, json={"body": "fyi"}), 201)
    kind = store.p.messages(sid).document(plain["message_id"]).get().get("kind")
    assert kind == "message" and store.get_swarm(sid)["interrupts"] == {"lead": 1}
    ghost = api.request(
        "POST", f"/api/swarms/{sid}/agents/ghost/messages", operator,
        json={"body": "x", "interrupt": True},
    )  # fmt: skip
    assert ghost.status_code == 404


def test_an_operator_pauses_and_resumes_one_agent_and_a_viewer_may_not(api, tok):
    operator, viewer = tok["operator"], tok["viewer"]
    sid = _swarm(api, tok)
    base = f"/api/swarms/{sid}/agents/lead"
    for action in ("pause", "resume"):
        resp = api.request("POST", f"{base}/{action}", viewer, json={})
        assert resp.status_code == 403 and error_of(resp)["code"] == "forbidden"
    assert _ok(api.request("GET", base, viewer))["status"] == "idle"
    paused = _ok(api.request("POST", f"{base}/pause", operator, json={"reason": "look"}))
    assert paused["status"] == "paused" and paused["activity"].startswith("paused by ")
    assert paused["activity"].endswith(": look")
    assert _ok(api.request("GET", base, viewer))["status"] == "paused"
    assert _ok(api.request("POST", f"{base}/pause", operator))["status"] == "paused"  # no body
    lease = runtime.store().acquire_lease(sid, "lead", "turn-1", 60)
    assert (lease.kind, lease.reason) == ("inactive", "agent is paused")
    unknown = api.request("POST", f"{base}/pause", operator, json={"why": "x"})
    assert unknown.status_code == 422
    resumed = _ok(api.request("POST", f"{base}/resume", operator, json={}))
    assert resumed["status"] == "idle"
    assert _ok(api.request("POST", f"{base}/resume", operator, json={}))["status"] == "idle"
    missing = api.request("POST", f"/api/swarms/{sid}/agents/ghost/pause", operator, json={})
    assert missing.status_code == 404
    _ok(api.request("POST", f"{base}/stop", operator, json={}))
    final = api.request("POST", f"{base}/resume", operator, json={})
    assert final.status_code == 409 and error_of(final)["code"] == "invalid_transition"
    kinds = [
        e["kind"] for e in _ok(api.request("GET", f"/api/swarms/{sid}/events", viewer))["events"]
    ]
    assert kinds.count("agent_paused") == 1 and kinds.count("agent_resumed") == 1
