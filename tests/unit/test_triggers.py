"""Pub/Sub payloads that start swarms or stop them: schema, errors, thresholds."""

from __future__ import annotations

import base64
import json

import pytest

from cloudswarm.errors import UserError
from cloudswarm.triggers import parse_budget_alert, parse_swarm_request


def push(payload) -> dict:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {"message": {"data": base64.b64encode(raw).decode(), "attributes": {}}}


def test_swarm_request_with_budget_parses():
    req = parse_swarm_request(push({"request_id": "r-1", "goal": "g", "budget": {"usd": 2}}))
    assert req.request_id == "r-1" and req.to_budget().usd == 2 and req.context is None


def test_a_swarm_requests_context_is_checked_and_filled_in():
    body = {"request_id": "r-1", "goal": "g", "context": {"clear_tool_results": False}}
    req = parse_swarm_request(push(body))
    assert req.context == {"compaction": {"trigger_tokens": 50_000}, "clear_tool_results": False}


@pytest.mark.parametrize(
    "payload, words",
    [
        ({"goal": "g"}, "request_id"),
        ({"request_id": "r 1", "goal": "g"}, "request_id"),
        ({"request_id": "r", "goal": ""}, "goal"),
        ({"request_id": "r", "goal": "g", "budget": {"usd": -1}}, "budget.usd"),
        ({"request_id": "r", "goal": "g", "admin": True}, "admin"),
        (
            {"request_id": "r", "goal": "g", "context": {"compaction": {"trigger_tokens": 5}}},
            "context.compaction.trigger_tokens",
        ),
        (b"not json", "base64 JSON"),
    ],
)
def test_bad_swarm_requests_say_what_is_wrong(payload, words):
    with pytest.raises(UserError, match=words):
        parse_swarm_request(push(payload))


def test_budget_alert_threshold():
    alert = parse_budget_alert(push({"costAmount": 90, "budgetAmount": 100, "extra": 1}))
    assert alert.over(0.9) and not alert.over(0.95)
    with pytest.raises(UserError):
        parse_budget_alert(push({"costAmount": 1}))
    with pytest.raises(UserError):
        parse_budget_alert({"message": {}})
