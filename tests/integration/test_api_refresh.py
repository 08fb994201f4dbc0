"""POST /api/auth/refresh: a live token is exchanged for the next token of its session, without
the API key, up to the session's absolute end (CLOUDSWARM_SESSION_MAX_S after the key was
exchanged); a revoked token or key, or a session at its end, is refused. Through the real HTTP
function on the local stack."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.integration.test_api_fixtures import (
    Api,
    claims_for,
    error_of,
    functions,
    mint,
    new_key,
    signing_key,
)

SESSION_MAX_S = 3600
TTL_S = 600


@pytest.fixture(scope="module")
def api(stack) -> Api:
    env = {"CLOUDSWARM_SESSION_MAX_S": str(SESSION_MAX_S), "CLOUDSWARM_TOKEN_TTL_S": str(TTL_S)}
    with functions(stack, ["api"], env) as fns:
        yield Api(fns["api"].url)


@pytest.fixture(scope="module")
def key(stack) -> bytes:
    return signing_key(stack)


def _at(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def refresh(api: Api, token: str):
    return api.request("POST", "/api/auth/refresh", token)


def test_a_live_token_is_refreshed_within_its_session(api, project):
    key_id, secret = new_key(project, "operator", "ui")
    first = api.request("POST", "/api/auth/token", json={"api_key": secret}).json()
    assert _at(first["session_expires_at"]) - _at(first["expires_at"]) == SESSION_MAX_S - TTL_S
    resp = refresh(api, first["token"])
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert (second["role"], second["key_id"]) == ("operator", key_id)
    assert second["jti"] != first["jti"] and second["token"] != first["token"]
    # The same session: its end does not move however often it is refreshed.
    assert second["session_expires_at"] == first["session_expires_at"]
    assert _at(second["expires_at"]) >= _at(first["expires_at"])
    third = refresh(api, second["token"]).json()
    assert third["session_expires_at"] == first["session_expires_at"]
    assert api.request("GET", "/api/kill-switch", third["token"]).status_code == 200


def test_the_last_token_of_a_session_ends_with_it_and_then_refresh_is_refused(api, key, project):
    key_id, _ = new_key(project, "viewer", "ui-old")
    now = int(time.time())
    # A session begun SESSION_MAX_S - 120 s ago: its next token lives 120 s, not TTL_S.
    near_end = mint(key, claims_for(key_id, "viewer", auth_time=now - SESSION_MAX_S + 120))
    last = refresh(api, near_end).json()
    assert _at(last["expires_at"]) == _at(last["session_expires_at"]) == now + 120
    # A session already at its end gets no further token, even from a token still live.
    over = mint(key, claims_for(key_id, "viewer", auth_time=now - SESSION_MAX_S))
    refused = refresh(api, over)
    assert refused.status_code == 401
    assert error_of(refused) == {
        "code": "unauthorized",
        "message": f"this session reached its maximum lifetime ({SESSION_MAX_S} s): sign in "
        "again with the API key (POST /api/auth/token)",
    }
    # The token itself still works until its own expiry; only its session cannot go on.
    assert api.request("GET", "/api/kill-switch", over).status_code == 200


def test_an_expired_or_revoked_token_or_key_cannot_be_refreshed(api, key, project):
    key_id, secret = new_key(project, "operator", "ui-revoked")
    now = int(time.time())
    expired = mint(key, claims_for(key_id, "operator", iat=now - 700, nbf=now - 700, exp=now - 60))
    assert refresh(api, expired).status_code == 401
    assert refresh(api, "").status_code == 401
    token = api.request("POST", "/api/auth/token", json={"api_key": secret}).json()["token"]
    assert api.request("POST", "/api/auth/revoke", token).status_code == 200
    assert error_of(refresh(api, token))["message"] == "this token was revoked"
    live = api.request("POST", "/api/auth/token", json={"api_key": secret}).json()["token"]
    admin = api.token(new_key(project, "admin", "ui-admin")[1])
    assert api.request("DELETE", f"/api/keys/{key_id}", admin).status_code == 200
    assert error_of(refresh(api, live))["message"] == "this token's API key was revoked"
