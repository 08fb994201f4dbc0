"""swarm_trigger: a `swarm-requests` message starts exactly one swarm per request id; a bad one
is acknowledged into the dead-letter path with its reason, never retried forever.

Both through the real Pub/Sub emulator (push subscription to the running function) and by
posting the emulator's push body to the function directly, twice, to pin down redelivery.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests
from google.cloud import pubsub_v1
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from cloudswarm.names import scoped
from tests.conftest import wait_until
from tests.integration.test_api_fixtures import functions


@pytest.fixture(scope="module")
def trigger(stack):
    with functions(stack, ["swarm_trigger"]) as fns:
        yield fns["swarm_trigger"]


@pytest.fixture(scope="module")
def publisher():
    return pubsub_v1.PublisherClient()


def _topic(publisher, stack, name: str) -> str:
    s = stack.config.settings
    return publisher.topic_path(s.project, scoped(s.prefix, name))


def _push_body(data: bytes | str, message_id: str | None = None) -> dict:
    raw = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {
        "message": {"data": raw, "attributes": {}, "messageId": message_id or uuid.uuid4().hex},
        "subscription": "projects/cloudswarm-local/subscriptions/cloudswarm-swarm-requests-push",
    }


def _post(trigger, body: dict) -> requests.Response:
    http = requests.Session()
    http.trust_env = False
    return http.post(trigger.url + "/", json=body, timeout=60)


def _swarms_for(request_id: str) -> list[dict]:
    q = (
        runtime.store()
        .db.collection("swarms")
        .where(filter=FieldFilter("request_id", "==", request_id))
    )
    return [s.to_dict() for s in q.stream()]


def _dead_letters(message_id: str) -> list[dict]:
    """The dead-letter records of one message, by the message id in the payload kept."""
    q = runtime.store().db.collection("dead_letters")
    q = q.where(filter=FieldFilter("source", "==", "swarm-requests"))
    docs = [d.to_dict() for d in q.stream()]
    return [
        d
        for d in docs
        if ((d.get("payload") or {}).get("message") or {}).get("messageId") == message_id
    ]


def _id_of(dead_message) -> str | None:
    """The original message id inside a dead letter (the push body it could not use)."""
    try:
        return json.loads(dead_message.data)["message"]["messageId"]
    except (ValueError, KeyError, TypeError):
        return None


def _request(request_id: str, **over) -> bytes:
    body = {"request_id": request_id, "goal": "Summarise the incident", "budget": {"usd": 1}}
    return json.dumps({**body, **over}).encode()


def test_a_request_delivered_twice_starts_exactly_one_swarm(trigger):
    rid = f"req-{uuid.uuid4().hex[:8]}"
    body = _push_body(_request(rid, requested_by="ci"))
    first, second = _post(trigger, body), _post(trigger, body)
    assert first.status_code < 300 and second.status_code < 300
    swarms = _swarms_for(rid)
    assert len(swarms) == 1
    assert swarms[0]["goal"] == "Summarise the incident"
    assert swarms[0]["created_by"] == "pubsub:ci" and swarms[0]["budget"]["usd"] == 1


def test_a_request_published_twice_through_pubsub_starts_one_swarm(trigger, publisher, stack):
    rid = f"req-{uuid.uuid4().hex[:8]}"
    topic = _topic(publisher, stack, "swarm-requests")
    for _ in range(2):
        publisher.publish(topic, _request(rid)).result(timeout=30)

    def both_handled():
        # The function logs each delivery: a new swarm once, a repeat once.
        with open(trigger.log_path, errors="replace") as f:
            lines = [line for line in f if rid in line]
        return len(lines) >= 2 and any("repeat" in line for line in lines)

    assert wait_until(both_handled, timeout=60), trigger.log_tail()
    assert len(_swarms_for(rid)) == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json at all", "not base64 JSON"),
        (json.dumps({"goal": "no request id"}).encode(), "request_id"),
        (json.dumps({"request_id": "r1", "goal": "x", "evil": True}).encode(), "evil"),
        (json.dumps({"request_id": "has space", "goal": "x"}).encode(), "request_id"),
        (json.dumps({"request_id": "r2", "goal": ""}).encode(), "goal"),
        (json.dumps({"request_id": "r3", "goal": "x", "budget": {"usd": -5}}).encode(), "usd"),
    ],
)
def test_a_malformed_request_is_acked_into_the_dead_letters_with_its_reason(trigger, data, reason):
    message_id = f"bad-{uuid.uuid4().hex}"
    resp = _post(trigger, _push_body(data, message_id))
    # A 2xx acknowledges the message: Pub/Sub will not deliver it again.
    assert resp.status_code < 300
    letters = _dead_letters(message_id)
    assert len(letters) == 1
    assert reason in letters[0]["reason"]


def test_a_message_without_data_is_dead_lettered(trigger):
    message_id = f"empty-{uuid.uuid4().hex}"
    resp = _post(trigger, _push_body("", message_id))
    assert resp.status_code < 300
    assert "no message data" in _dead_letters(message_id)[0]["reason"]


def test_a_bad_message_published_lands_on_the_dead_letter_topic(trigger, publisher, stack):
    s = stack.config.settings
    subscriber = pubsub_v1.SubscriberClient()
    dead_sub = subscriber.subscription_path(s.project, scoped(s.prefix, "swarm-requests-dead-pull"))
    marker = uuid.uuid4().hex
    bad = json.dumps({"request_id": marker, "goal": "x", "unexpected": marker}).encode()
    # The dead letter carries the original push body: its message id names it.
    message_id = publisher.publish(_topic(publisher, stack, "swarm-requests"), bad).result(30)

    found: list = []

    def pulled():
        resp = subscriber.pull(subscription=dead_sub, max_messages=50, timeout=10)
        if resp.received_messages:
            subscriber.acknowledge(
                subscription=dead_sub, ack_ids=[m.ack_id for m in resp.received_messages]
            )
        found.extend(m.message for m in resp.received_messages if _id_of(m.message) == message_id)
        return found

    assert wait_until(pulled, timeout=60), trigger.log_tail()
    assert "unexpected" in found[0].attributes["reason"]
    assert _swarms_for(marker) == []
    letters = _dead_letters(message_id)
    assert len(letters) == 1
