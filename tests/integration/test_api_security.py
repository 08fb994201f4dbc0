"""Security tests through the real HTTP function: each one must fail closed.

Tokens: alg none, another key, another algorithm, expired, not yet valid, wrong audience or
issuer, tampered claims, missing claims, a role the key does not have, a revoked key. Webhooks:
bad or missing signatures, stale timestamps, replayed delivery ids and signatures. Bodies:
oversize (declared and chunked) and malformed. Rate limits keyed on the verified key only. No
secret in the function's log.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm import runtime
from cloudswarm.api import webhooks
from tests.integration.test_api_fixtures import (
    Api,
    claims_for,
    error_of,
    functions,
    keys,
    mint,
    new_key,
    signing_key,
    webhook_config,
)

DEPLOY_SECRET = "deploy-secret-abcdefghijklmnop"
GITHUB_SECRET = "github-secret-abcdefghijklmnop"
HOOKS = webhook_config(
    deploy={"secret": DEPLOY_SECRET, "template": "Deploy {service}"},
    github={
        "secret": GITHUB_SECRET,
        "template": "Triage issue #{issue.number}: {issue.title}",
        "events": ["issues"],
        "require_timestamp": False,
    },
)
TOKEN_RATE, API_RATE = 3, 15


@pytest.fixture(scope="module")
def fn(stack):
    env = {
        "CLOUDSWARM_WEBHOOK_SECRETS": HOOKS,
        "CLOUDSWARM_TOKEN_RATE_PER_MIN": str(TOKEN_RATE),
        "CLOUDSWARM_API_RATE_PER_MIN": str(API_RATE),
    }
    with functions(stack, ["api"], env) as fns:
        yield fns["api"]


@pytest.fixture(scope="module")
def api(fn) -> Api:
    return Api(fn.url)


@pytest.fixture(scope="module")
def key(stack) -> bytes:
    return signing_key(stack)


@pytest.fixture
def viewer(project):
    return new_key(project, "viewer")


def _b64(obj) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _refused(api: Api, token: str) -> None:
    resp = api.request("GET", "/api/kill-switch", token)
    assert resp.status_code == 401, resp.text
    assert error_of(resp)["code"] == "unauthorized"


# -- tokens ----------------------------------------------------------------------------------------


def test_a_well_formed_token_is_accepted(api, key, viewer):
    """The control for everything below: the hand-made token passes when nothing is wrong."""
    token = mint(key, claims_for(viewer[0], "viewer"))
    assert api.request("GET", "/api/kill-switch", token).status_code == 200


def test_alg_none_is_refused(api, viewer):
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims_for(viewer[0], 'viewer'))}."
    _refused(api, unsigned)
    _refused(api, unsigned + "AAAA")


def test_a_token_signed_with_another_key_is_refused(api, viewer):
    _refused(api, mint(b"x" * 48, claims_for(viewer[0], "viewer")))


def test_another_algorithm_with_the_right_key_is_refused(api, key, viewer):
    _refused(api, mint(key, claims_for(viewer[0], "viewer"), algorithm="HS512"))


def test_expired_and_not_yet_valid_tokens_are_refused(api, key, viewer):
    now = int(time.time())
    _refused(api, mint(key, claims_for(viewer[0], "viewer", iat=now - 900, exp=now - 60)))
    _refused(api, mint(key, claims_for(viewer[0], "viewer", nbf=now + 600, exp=now + 900)))
    # Longer-lived than the service ever issues: minted elsewhere with a leaked key.
    _refused(api, mint(key, claims_for(viewer[0], "viewer", exp=now + 30 * 86400)))


def test_wrong_audience_or_issuer_is_refused(api, key, viewer):
    _refused(api, mint(key, claims_for(viewer[0], "viewer", aud="another-service")))
    _refused(api, mint(key, claims_for(viewer[0], "viewer", aud=["cloudswarm-api", "x"])))
    _refused(api, mint(key, claims_for(viewer[0], "viewer", iss="someone-else")))


def test_tampered_claims_are_refused(api, key, viewer):
    good = mint(key, claims_for(viewer[0], "viewer"))
    header, _, signature = good.split(".")
    forged = f"{header}.{_b64(claims_for(viewer[0], 'admin'))}.{signature}"
    _refused(api, forged)
    _refused(api, good[:-2] + ("AA" if not good.endswith("AA") else "BB"))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "aud", "iss", "jti", "sub"])
def test_a_token_missing_a_required_claim_is_refused(api, key, viewer, claim):
    claims = claims_for(viewer[0], "viewer")
    del claims[claim]
    _refused(api, mint(key, claims))


def test_a_role_the_key_does_not_have_is_refused(api, key, viewer):
    # Signed with the real key, but the key record says viewer: the record wins, and refuses.
    _refused(api, mint(key, claims_for(viewer[0], "admin")))


def test_a_revoked_key_and_an_unknown_key_are_refused(api, key, project):
    key_id, secret = new_key(project, "operator")
    keys(project).revoke(key_id, actor="tests")
    _refused(api, mint(key, claims_for(key_id, "operator")))
    _refused(api, mint(key, claims_for("abcdefabcdef", "operator")))
    exchange = api.request("POST", "/api/auth/token", json={"api_key": secret})
    assert exchange.status_code == 401


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer " + "a" * 5000],
)
def test_malformed_authorization_is_refused(api, header):
    resp = api.request("GET", "/api/swarms", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_key_exchange_refuses_every_wrong_key_alike(api, viewer):
    _, secret = viewer
    for wrong in [secret[:-1] + ("A" if secret[-1] != "A" else "B"), "csk_nope", "", "x" * 150]:
        resp = api.request("POST", "/api/auth/token", json={"api_key": wrong})
        assert resp.status_code in (401, 422), wrong
        if resp.status_code == 401:
            assert error_of(resp)["message"] == "invalid API key"


# -- rate limits ---------------------------------------------------------------------------------


def test_token_exchange_is_rate_limited_per_key(api, project):
    _, secret = new_key(project, "viewer")
    # Fixed one-minute windows: 2*limit+1 quick tries overflow whichever window they land in.
    codes = [
        api.request("POST", "/api/auth/token", json={"api_key": secret}).status_code
        for _ in range(2 * TOKEN_RATE + 1)
    ]
    assert 429 in codes and set(codes) <= {200, 429}, codes


def test_requests_are_rate_limited_per_verified_key_not_per_header(api, key, project):
    limited = new_key(project, "viewer")
    token = mint(key, claims_for(limited[0], "viewer"))
    # A client-chosen header must not open a new bucket.
    answers = [
        api.request("GET", "/api/kill-switch", token, headers={"X-Forwarded-For": f"10.0.0.{i}"})
        for i in range(2 * API_RATE + 1)
    ]
    limited = [r for r in answers if r.status_code == 429]
    assert limited and {r.status_code for r in answers} <= {200, 429}
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert error_of(limited[0])["code"] == "rate_limited"
    other = new_key(project, "viewer")
    fresh = mint(key, claims_for(other[0], "viewer"))
    assert api.request("GET", "/api/kill-switch", fresh).status_code == 200


# -- bodies ----------------------------------------------------------------------------------------


@pytest.fixture
def operator_token(api, key, project) -> str:
    key_id, _ = new_key(project, "operator")
    return mint(key, claims_for(key_id, "operator"))


def test_an_oversize_body_is_refused_declared_or_chunked(api, operator_token):
    big = json.dumps({"goal": "x" * (70 * 1024)}).encode()
    declared = api.request(
        "POST",
        "/api/swarms",
        operator_token,
        data=big,
        headers={"Content-Type": "application/json"},
    )
    assert declared.status_code == 413 and error_of(declared)["code"] == "too_large"

    def chunks():
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    chunked = api.request(
        "POST", "/api/swarms", operator_token, data=chunks(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert chunked.status_code == 413


@pytest.mark.parametrize(
    ("raw", "ctype", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"goal": "a"', "application/json", 400),
        (b"[1, 2]", "application/json", 422),
        (b'"goal"', "application/json", 422),
        (b'{"goal": "a", "admin": true}', "application/json", 422),
        (b'{"goal": ""}', "application/json", 422),
        (b'{"goal": "   "}', "application/json", 422),
        (b'{"goal": 5}', "application/json", 422),
        (b'{"goal": "a", "budget": {"usd": -1}}', "application/json", 422),
        (b'{"goal": "a", "budget": {"usd": NaN}}', "application/json", 422),
        (b'{"goal": "a", "budget": {"usd": 1e400}}', "application/json", 422),
        (b'{"goal": "a", "model": "gpt-x"}', "application/json", 422),
        (b'{"goal": "a"}', "text/plain", 415),
        (b"", "application/json", 422),
        (b"\xff\xfe{}", "application/json", 400),
    ],
)
def test_malformed_bodies_are_refused_and_nothing_is_created(
    api, operator_token, raw, ctype, status
):
    before = _swarm_count()
    resp = api.request(
        "POST", "/api/swarms", operator_token, data=raw, headers={"Content-Type": ctype}
    )
    assert resp.status_code == status, resp.text
    error_of(resp)
    assert _swarm_count() == before


def _swarm_count() -> int:
    return len(list(runtime.store().db.collection("swarms").select([]).stream()))


@pytest.mark.parametrize(
    "path",
    [
        "/api/swarms?limit=0",
        "/api/swarms?limit=abc",
        "/api/swarms?limit=1&limit=2",
        "/api/swarms?nope=1",
        "/api/kill-switch?x=1",
        "/api/swarms?page_token=../../x",
        "/api/swarms/%2e%2e/agents",
        "/api/swarms/__name__",
        "/api/swarms/a%2Fb",
    ],
)
def test_malformed_queries_and_paths_are_refused(api, operator_token, path):
    resp = api.request("GET", path, operator_token)
    assert resp.status_code in (400, 404, 422), resp.text
    error_of(resp)


def test_unknown_routes_and_methods_answer_in_the_error_format(api, operator_token):
    missing = api.request("GET", "/api/nothing-here", operator_token)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong = api.request("PUT", "/api/swarms", operator_token)
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]
    error_of(wrong)


# -- webhooks --------------------------------------------------------------------------------------


def _hook(api, name, payload, secret, *, delivery, stamp=None, sign_stamp=None, header=None, **h):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    stamp = str(int(time.time())) if stamp is None else stamp
    headers = {"Content-Type": "application/json", "X-CloudSwarm-Delivery": delivery}
    if stamp != "":
        headers["X-CloudSwarm-Timestamp"] = stamp
    signed_with = sign_stamp if sign_stamp is not None else (stamp or None)
    headers[header or "X-CloudSwarm-Signature"] = webhooks.sign(secret, raw, signed_with)
    headers.update(h)
    return api.request("POST", f"/webhooks/{name}", data=raw, headers=headers)


def _swarms_from(delivery_prefix: str) -> list:
    q = (
        runtime.store()
        .db.collection("swarms")
        .where(filter=FieldFilter("template", "==", "webhook:deploy"))
    )
    return [s for s in q.stream() if (s.get("request_id") or "").startswith(delivery_prefix)]


def test_a_signed_webhook_starts_one_swarm(api):
    resp = _hook(api, "deploy", {"service": "api"}, DEPLOY_SECRET, delivery="ok-1")
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "started"
    assert runtime.store().get_swarm(resp.json()["swarm_id"])["goal"] == "Deploy api"


@pytest.mark.parametrize(
    "case",
    ["bad-secret", "no-signature", "malformed-signature", "body-changed", "unknown-hook"],
)
def test_a_webhook_with_a_bad_signature_is_refused(api, case):
    delivery = f"bad-{case}"
    payload = {"service": "api"}
    if case == "bad-secret":
        resp = _hook(api, "deploy", payload, "not-the-secret-at-all", delivery=delivery)
    elif case == "unknown-hook":
        resp = _hook(api, "nope", payload, DEPLOY_SECRET, delivery=delivery)
    else:
        stamp = str(int(time.time()))
        raw = json.dumps(payload).encode()
        sig = {
            "no-signature": None,
            "malformed-signature": "sha1=abcd",
            "body-changed": webhooks.sign(DEPLOY_SECRET, raw + b" ", stamp),
        }[case]
        headers = {
            "Content-Type": "application/json",
            "X-CloudSwarm-Delivery": delivery,
            "X-CloudSwarm-Timestamp": stamp,
            **({"X-CloudSwarm-Signature": sig} if sig else {}),
        }
        resp = api.request("POST", "/webhooks/deploy", data=raw, headers=headers)
    assert resp.status_code == 401, resp.text
    assert error_of(resp) == {
        "code": "unauthorized",
        "message": "webhook signature verification failed",
    }
    assert _swarms_from(f"webhook:deploy:{delivery}") == []


def test_a_stale_or_future_or_missing_timestamp_is_refused(api):
    old = str(int(time.time()) - 3600)
    future = str(int(time.time()) + 3600)
    for delivery, stamp in [("stale", old), ("future", future), ("no-stamp", "")]:
        resp = _hook(
            api, "deploy", {"service": "api"}, DEPLOY_SECRET, delivery=delivery, stamp=stamp
        )
        assert resp.status_code == 401, (delivery, resp.text)
    # A fresh timestamp header on a signature made for an old one does not pass either.
    resp = _hook(
        api, "deploy", {"service": "api"}, DEPLOY_SECRET, delivery="restamped", sign_stamp=old
    )
    assert resp.status_code == 401


def test_a_replayed_delivery_is_refused_and_starts_nothing_more(api):
    payload, stamp = {"service": "web"}, str(int(time.time()))
    first = _hook(api, "deploy", payload, DEPLOY_SECRET, delivery="replay-1", stamp=stamp)
    assert first.status_code == 202
    again = _hook(api, "deploy", payload, DEPLOY_SECRET, delivery="replay-1", stamp=stamp)
    assert again.status_code == 409 and error_of(again)["code"] == "replayed"
    # The same signed request under a new delivery id is the same request.
    renamed = _hook(api, "deploy", payload, DEPLOY_SECRET, delivery="replay-2", stamp=stamp)
    assert renamed.status_code == 409
    assert len(_swarms_from("webhook:deploy:replay-")) == 1


def test_github_style_deliveries(api):
    issue = {"issue": {"number": 7, "title": "Crash on start"}, "action": "opened"}
    ok = _hook(
        api, "github", issue, GITHUB_SECRET, delivery="gh-1", stamp="",
        header="X-Hub-Signature-256", **{"X-GitHub-Event": "issues"},
    )  # fmt: skip
    assert ok.status_code == 202, ok.text
    goal = runtime.store().get_swarm(ok.json()["swarm_id"])["goal"]
    assert goal == "Triage issue #7: Crash on start"
    ping = _hook(
        api, "github", {"zen": "hi"}, GITHUB_SECRET, delivery="gh-2", stamp="",
        header="X-Hub-Signature-256", **{"X-GitHub-Event": "ping"},
    )  # fmt: skip
    assert ping.status_code == 200 and ping.json()["status"] == "ignored"
    replay = _hook(
        api, "github", issue, GITHUB_SECRET, delivery="gh-1", stamp="",
        header="X-Hub-Signature-256", **{"X-GitHub-Event": "issues"},
    )  # fmt: skip
    assert replay.status_code == 409


def test_webhook_bodies_are_checked_after_the_signature(api):
    missing_field = _hook(api, "deploy", {"other": 1}, DEPLOY_SECRET, delivery="b-1")
    assert missing_field.status_code == 422
    assert error_of(missing_field)["code"] == "missing_field"
    not_json = _hook(api, "deploy", b"{oops", DEPLOY_SECRET, delivery="b-2")
    assert not_json.status_code == 400
    no_delivery = _hook(api, "deploy", {"service": "x"}, DEPLOY_SECRET, delivery="")
    assert no_delivery.status_code == 422
    huge = _hook(api, "deploy", {"service": "x" * (300 * 1024)}, DEPLOY_SECRET, delivery="b-3")
    assert huge.status_code == 413


# -- logs ------------------------------------------------------------------------------------------


def test_no_secret_reaches_the_function_log(api, fn, key, project):
    key_id, secret = new_key(project, "viewer")
    token = api.token(secret)
    api.request("GET", "/api/swarms", token)
    _hook(api, "deploy", {"service": "log"}, DEPLOY_SECRET, delivery="log-1")
    with open(fn.log_path, errors="replace") as f:
        log = f.read()
    assert key_id in log  # the log does say who called
    for value in (secret, token, DEPLOY_SECRET, GITHUB_SECRET, key.decode()):
        assert value not in log
