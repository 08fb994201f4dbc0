"""Webhook signature checks, replay-relevant fields and goal templates, without I/O."""

from __future__ import annotations

import json
import logging
import time

import pytest

from cloudswarm.api import webhooks
from cloudswarm.api.errors import ApiError
from cloudswarm.errors import ConfigError, UserError

SECRET = "s3cret-s3cret-s3cret"
LOG = logging.getLogger("test")


@pytest.fixture(autouse=True)
def hooks(monkeypatch):
    config = {
        "deploy": {"secret": SECRET, "template": "Deploy {service}"},
        "gh": {"secret": SECRET, "template": "Issue {issue.number}", "require_timestamp": False},
    }
    monkeypatch.setenv("CLOUDSWARM_WEBHOOK_SECRETS", json.dumps(config))
    webhooks._parse.cache_clear()


def _headers(body: bytes, *, stamp=None, secret=SECRET, delivery="d1", name="X-CloudSwarm"):
    h = {"X-CloudSwarm-Delivery": delivery}
    if stamp is not None:
        h["X-CloudSwarm-Timestamp"] = str(stamp)
    h[f"{name}-Signature" if name == "X-CloudSwarm" else name] = webhooks.sign(secret, body, stamp)
    return h


def _verify(name, headers, body):
    return webhooks.verify(name, headers, body, 300, LOG)


def test_a_timestamped_signature_verifies():
    body, now = b'{"service": "api"}', int(time.time())
    d = _verify("deploy", _headers(body, stamp=now), body)
    assert d.delivery_id == "d1" and d.timed


def test_github_style_body_only_signature_when_allowed():
    body = b'{"issue": {"number": 3}}'
    h = _headers(body, name="X-Hub-Signature-256")
    h["X-GitHub-Delivery"] = h.pop("X-CloudSwarm-Delivery")
    d = _verify("gh", h, body)
    assert not d.timed and d.delivery_id == "d1"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h, b: ({**h, "X-CloudSwarm-Signature": "sha256=" + "0" * 64}, b),
        lambda h, b: ({k: v for k, v in h.items() if "Signature" not in k}, b),
        lambda h, b: ({**h, "X-CloudSwarm-Signature": "md5=abc"}, b),
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "X-CloudSwarm-Timestamp": str(int(time.time()) - 301)}, b),
        lambda h, b: ({**h, "X-CloudSwarm-Timestamp": "12abc"}, b),
        lambda h, b: ({k: v for k, v in h.items() if "Timestamp" not in k}, b),
    ],
    ids=["wrong", "missing", "malformed", "body", "restamped", "bad-stamp", "no-stamp"],
)
def test_bad_signatures_are_refused(mutate):
    body = b'{"service": "api"}'
    headers, sent = mutate(_headers(body, stamp=int(time.time())), body)
    with pytest.raises(ApiError) as e:
        _verify("deploy", headers, sent)
    assert e.value.status == 401 and e.value.message == "webhook signature verification failed"


def test_stale_and_future_timestamps_are_refused():
    body = b"{}"
    for stamp in (int(time.time()) - 3600, int(time.time()) + 3600):
        with pytest.raises(ApiError):
            _verify("deploy", _headers(body, stamp=stamp), body)


def test_an_unknown_webhook_looks_like_a_bad_signature():
    with pytest.raises(ApiError) as e:
        _verify("nope", _headers(b"{}", stamp=int(time.time())), b"{}")
    assert e.value.status == 401


def test_the_timestamp_is_required_unless_the_hook_waives_it():
    body = b"{}"
    with pytest.raises(ApiError):
        _verify("deploy", _headers(body), body)


def test_a_delivery_id_is_required():
    body = b"{}"
    h = _headers(body, stamp=int(time.time()), delivery="bad id with spaces")
    with pytest.raises(ApiError) as e:
        _verify("deploy", h, body)
    assert e.value.status == 422


def test_templates_take_plain_paths_only():
    payload = {"a": {"b": [{"c": "deep"}]}, "n": 3, "obj": {"k": 1}, "none": None}
    assert webhooks.render("{a.b.0.c} {n} {obj} {none}|{{x}}", payload) == 'deep 3 {"k": 1} |{x}'
    for bad in ("{__class__}", "{a.__class__}", "{missing}", "{a.b.9.c}"):
        with pytest.raises(UserError):
            webhooks.render(bad, payload)
    # Format specs and attribute syntax are not template fields: they stay as text.
    assert webhooks.render("{n!r} {n:>10}", payload) == "{n!r} {n:>10}"


def test_long_values_are_bounded():
    goal = webhooks.render("{x}", {"x": "y" * 100_000})
    assert len(goal) == webhooks.MAX_FIELD_CHARS


def test_a_broken_config_never_echoes_its_secrets(monkeypatch):
    monkeypatch.setenv("CLOUDSWARM_WEBHOOK_SECRETS", '{"h": {"secret": "leaky-value-123", ')
    webhooks._parse.cache_clear()
    with pytest.raises(ConfigError) as e:
        webhooks.specs()
    assert "leaky-value-123" not in str(e.value)
    monkeypatch.setenv("CLOUDSWARM_WEBHOOK_SECRETS", '{"h": {"secret": "short", "template": "x"}}')
    with pytest.raises(ConfigError) as e:
        webhooks.specs()
    assert "short" not in str(e.value).replace("secret", "")
