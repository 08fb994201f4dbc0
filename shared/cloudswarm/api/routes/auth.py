"""Exchanging an API key for a token, UI credentials, and revoking tokens."""

from __future__ import annotations

import datetime as dt
import time

from cloudswarm.api import firebase, tokens
from cloudswarm.api.config import config
from cloudswarm.api.errors import forbidden, rate_limited, unauthorized
from cloudswarm.api.routing import Call, route
from cloudswarm.api.schemas import FirebaseTokenOut, Revoked, RevokeRequest, TokenOut, TokenRequest


def _at(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


@route(
    "POST", "/api/auth/token", tag="auth", role=None, auth="none",
    body=TokenRequest, response=TokenOut, errors=(401, 429),
)  # fmt: skip
def create_token(call: Call):
    """Exchange an API key for a short-lived JWT (HS256; default lifetime 15 minutes)."""
    cfg = config()
    record = call.services.keys.verify(call.body.api_key)
    if record is None:
        # One answer for unknown, malformed, wrong and revoked keys: nothing to probe.
        raise unauthorized("invalid API key")
    allowed, retry = call.services.limiter.hit(f"token:{record['key_id']}", cfg.token_rate_per_min)
    if not allowed:
        raise rate_limited(retry)
    token, claims = tokens.issue(
        cfg, key_id=record["key_id"], role=record["role"], name=record["name"]
    )
    call.services.keys.touch(record["key_id"])
    return _token_out(cfg, token, claims)


@route(
    "POST", "/api/auth/refresh", tag="auth", response=TokenOut, errors=(429,),
)  # fmt: skip
def refresh_token(call: Call):
    """Exchange a live token for the next token of its session, so a signed-in UI stays signed
    in without keeping the API key. The new token expires no later than the session's end
    (CLOUDSWARM_SESSION_MAX_S after the key was exchanged); from then on, 401. A revoked token
    or key cannot be refreshed (it is refused before this runs)."""
    cfg, p = config(), call.principal
    end = tokens.session_end(cfg, p.auth_time)
    if end - time.time() < 1:
        raise unauthorized(
            f"this session reached its maximum lifetime ({cfg.session_max_s} s): sign in again "
            "with the API key (POST /api/auth/token)"
        )
    allowed, retry = call.services.limiter.hit(f"token:{p.key_id}", cfg.token_rate_per_min)
    if not allowed:
        raise rate_limited(retry)
    token, claims = tokens.issue(
        cfg, key_id=p.key_id, role=p.role, name=p.name, auth_time=p.auth_time
    )
    return _token_out(cfg, token, claims)


def _token_out(cfg, token: str, claims: tokens.Claims) -> dict:
    return {
        "token": token,
        "expires_at": _at(claims.exp),
        "role": claims.role,
        "key_id": claims.key_id,
        "jti": claims.jti,
        "session_expires_at": _at(tokens.session_end(cfg, claims.auth_time)),
    }


@route("POST", "/api/auth/firebase-token", tag="auth", response=FirebaseTokenOut)
def create_firebase_token(call: Call):
    """What the web UI needs to read Firestore under the security rules as this key's role."""
    p = call.principal
    return firebase.ui_credentials(config(), key_id=p.key_id, role=p.role, name=p.name)


@route(
    "POST", "/api/auth/revoke", tag="auth", body=RevokeRequest, body_required=False,
    response=Revoked,
)  # fmt: skip
def revoke_token(call: Call):
    """Revoke the calling token, or (admin) any token by its jti. Takes effect at once."""
    p, jti = call.principal, call.body.jti
    if jti is None or jti == p.jti:
        jti, expires = p.jti, p.exp
    elif not p.allows("admin"):
        raise forbidden("only an admin may revoke another token")
    else:
        # Its expiry is unknown here; no token of ours outlives the longest lifetime.
        expires = int(time.time()) + 3600 + tokens.LEEWAY_S
    call.services.keys.revoke_token(jti, actor=p.actor, expires_at=_at(expires))
    return {"jti": jti, "revoked": True}
