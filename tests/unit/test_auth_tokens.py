"""JWT issue and verification: every malformed or foreign token is refused (fail closed)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from cloudswarm.api import tokens
from cloudswarm.api.config import ApiConfig
from cloudswarm.errors import ConfigError

KEY = b"k" * 64
CFG = ApiConfig()


def _claims(**over):
    now = int(time.time())
    base = {
        "iss": CFG.issuer, "aud": CFG.audience, "sub": "0123456789ab", "role": "operator",
        "name": "ci", "jti": "f" * 32, "iat": now, "nbf": now, "exp": now + 300,
    }  # fmt: skip
    return {**base, **over}


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_an_issued_token_verifies_with_its_claims():
    token, claims = tokens.issue(CFG, key_id="0123456789ab", role="admin", name="ops", key=KEY)
    got = tokens.verify(CFG, token, key=KEY)
    assert got == claims
    assert got.exp - got.iat == CFG.token_ttl_s
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    payload = jwt.decode(token, options={"verify_signature": False})
    assert {"exp", "iat", "nbf", "aud", "iss", "jti", "sub", "role"} <= set(payload)


def test_every_token_has_its_own_jti():
    ids = {tokens.issue(CFG, key_id="0123456789ab", role="viewer", name="x", key=KEY)[1].jti
           for _ in range(20)}  # fmt: skip
    assert len(ids) == 20


@pytest.mark.parametrize(
    "token",
    [
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.",
        f"{_b64({'alg': 'None'})}.{_b64(_claims())}.",
        jwt.encode(_claims(), KEY, algorithm="HS512"),
        jwt.encode(_claims(), KEY, algorithm="HS384"),
        jwt.encode(_claims(), b"o" * 64, algorithm="HS256"),
        jwt.encode(_claims(exp=int(time.time()) - 60), KEY),
        jwt.encode(_claims(nbf=int(time.time()) + 600, exp=int(time.time()) + 900), KEY),
        jwt.encode(_claims(iat=int(time.time()) + 600, exp=int(time.time()) + 900), KEY),
        jwt.encode(_claims(aud="other"), KEY),
        jwt.encode(_claims(aud=[CFG.audience, "other"]), KEY),
        jwt.encode(_claims(iss="other"), KEY),
        jwt.encode(_claims(role="root"), KEY),
        jwt.encode(_claims(jti="../../x"), KEY),
        jwt.encode(_claims(sub="not-a-key-id"), KEY),
        jwt.encode(_claims(exp=int(time.time()) + 86400), KEY),
        jwt.encode(_claims(exp=str(int(time.time()) + 60)), KEY),
        "",
        "a.b",
        "a.b.c.d",
        "x" * 5000,
        "not.a.token",
    ],
    ids=lambda t: t[:40],
)
def test_bad_tokens_are_refused(token):
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(CFG, token, key=KEY)


@pytest.mark.parametrize("missing", tokens.REQUIRED)
def test_every_required_claim_is_required(missing):
    claims = _claims()
    del claims[missing]
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(CFG, jwt.encode(claims, KEY), key=KEY)


def test_tampered_payload_or_signature_is_refused():
    token, _ = tokens.issue(CFG, key_id="0123456789ab", role="viewer", name="x", key=KEY)
    header, payload, sig = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["role"] = "admin"
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(CFG, f"{header}.{_b64(forged)}.{sig}", key=KEY)
    flipped = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(CFG, f"{header}.{payload}.{flipped}", key=KEY)


def test_a_token_for_another_deployment_is_refused():
    other = ApiConfig(issuer="cloudswarm-staging", audience="cloudswarm-api-staging")
    token, _ = tokens.issue(other, key_id="0123456789ab", role="viewer", name="x", key=KEY)
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(CFG, token, key=KEY)


def test_a_short_signing_key_is_a_config_error(monkeypatch):
    monkeypatch.setenv("CLOUDSWARM_JWT_SIGNING_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        tokens.signing_key()


def test_a_refreshed_token_keeps_its_sessions_start_and_never_outlives_the_session():
    cfg = ApiConfig(token_ttl_s=900, session_max_s=1000)
    now = int(time.time())
    first, claims = tokens.issue(cfg, key_id="0123456789ab", role="viewer", name="x", key=KEY)
    assert claims.auth_time == claims.iat and claims.exp == claims.iat + 900
    assert tokens.verify(cfg, first, key=KEY).auth_time == claims.auth_time
    # Refreshed 600 s into the session: 400 s are left of it, fewer than a token's lifetime.
    began = now - 600
    token, later = tokens.issue(
        cfg, key_id="0123456789ab", role="viewer", name="x", key=KEY, auth_time=began
    )
    assert later.auth_time == began and later.exp == tokens.session_end(cfg, began) == began + 1000
    assert tokens.verify(cfg, token, key=KEY) == later
    # A token from before sessions were refreshable: its session began when it was issued.
    old = tokens.verify(cfg, jwt.encode(_claims(), KEY), key=KEY)
    assert old.auth_time == old.iat


@pytest.mark.parametrize(
    "auth_time", [lambda now: now + 60, lambda now: now - 8 * 24 * 3600, lambda now: "yesterday"]
)
def test_a_session_start_after_the_token_or_beyond_any_session_is_refused(auth_time):
    now = int(time.time())
    token = jwt.encode(_claims(auth_time=auth_time(now)), KEY)
    with pytest.raises(tokens.InvalidToken, match="session start out of bounds"):
        tokens.verify(CFG, token, key=KEY)
