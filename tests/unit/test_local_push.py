"""The local stack's push settings and the body its pusher POSTs (no services needed)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from types import SimpleNamespace

import pytest

from cloudswarm.errors import ConfigError
from emulators import services
from emulators.config import DEFAULT_PUSH_CONCURRENCY, PROFILES, StackConfig
from emulators.pusher import backoff_s, push_body


def _config(tmp_path, profile: str = "full", **env: str) -> StackConfig:
    return StackConfig.resolve(tmp_path, 0, profile, environ=env)


def test_the_whole_stack_pushes_through_its_pusher_and_the_emulators_alone_do_not(tmp_path):
    assert _config(tmp_path).pushes and "pusher" in PROFILES["full"]
    assert not _config(tmp_path, "emulators").pushes


def test_concurrency_defaults_to_every_agent_of_the_large_scenario_and_is_configurable(tmp_path):
    assert DEFAULT_PUSH_CONCURRENCY >= 10  # the large scenario: a lead and nine teammates
    assert _config(tmp_path).push_concurrency == DEFAULT_PUSH_CONCURRENCY
    assert _config(tmp_path, CLOUDSWARM_PUSH_CONCURRENCY="64").push_concurrency == 64
    (pusher,) = [s for s in services.build(_config(tmp_path)) if s.name == "pusher"]
    assert f"--concurrency={DEFAULT_PUSH_CONCURRENCY}" in pusher.argv
    routes = [pusher.argv[i + 1] for i, a in enumerate(pusher.argv) if a == "--route"]
    assert "agent-doorbell-push=http://127.0.0.1:8091/" in routes


@pytest.mark.parametrize("raw", ["0", "-3", "many"])
def test_a_bad_concurrency_is_refused_with_the_variable_named(tmp_path, raw):
    with pytest.raises(ConfigError, match="CLOUDSWARM_PUSH_CONCURRENCY"):
        services.build(_config(tmp_path, CLOUDSWARM_PUSH_CONCURRENCY=raw))


def test_the_body_is_the_wrapped_push_body_the_functions_parse():
    message = SimpleNamespace(
        data=b'{"goal": "x"}',
        attributes={"swarm_id": "s1", "agent_id": "a1"},
        message_id="42",
        publish_time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    )
    body = json.loads(push_body("projects/p/subscriptions/s", message, 3))
    assert body["subscription"] == "projects/p/subscriptions/s"
    assert body["deliveryAttempt"] == 3
    msg = body["message"]
    assert base64.b64decode(msg["data"]) == b'{"goal": "x"}'
    assert msg["attributes"] == {"swarm_id": "s1", "agent_id": "a1"}
    assert msg["messageId"] == "42" and msg["publishTime"] == "2026-01-02T03:04:05Z"


def test_the_backoff_doubles_per_attempt_from_the_minimum_to_the_maximum():
    assert [backoff_s(n, 1, 60) for n in (1, 2, 3, 6, 7, 20)] == [1, 2, 4, 32, 60, 60]
    assert backoff_s(3, 0, 60) == 0  # no retry policy: redelivered at once
