"""Who is calling: the bearer token, checked against revocation and the key's rate limit.

A request costs one write (its rate-limit count) and one batched read (the key, the token's
revocation record and the rate-limit shards), so revoking a key or a token takes effect on the
very next request, on every instance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import flask

from cloudswarm.api import tokens
from cloudswarm.api.config import ApiConfig
from cloudswarm.api.deps import Services
from cloudswarm.api.errors import forbidden, rate_limited, unauthorized
from cloudswarm.api.routing import ROLES

log = logging.getLogger("cloudswarm.api.auth")


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    name: str
    jti: str
    exp: int
    auth_time: int = 0  # when the token's session began (tokens.Claims.auth_time)

    @property
    def actor(self) -> str:
        # Names need not be unique; the key id makes every audit entry traceable to one key.
        return f"{self.name}#{self.key_id}"

    def allows(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def bearer(request: flask.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("send Authorization: Bearer <token> (POST /api/auth/token)")
    return token.strip()


def authenticate(request: flask.Request, cfg: ApiConfig, services: Services) -> Principal:
    try:
        claims = tokens.verify(cfg, bearer(request))
    except tokens.InvalidToken as e:
        log.info("token refused: %s", e)
        raise unauthorized("invalid or expired token") from None
    window = services.limiter.record(f"key:{claims.key_id}")
    check = services.keys.check_token(claims.key_id, claims.jti, window)
    key = check.key
    if not key or key.get("revoked") or key.get("role") != claims.role:
        log.info("token of key %s refused: key revoked, deleted or changed", claims.key_id)
        raise unauthorized("this token's API key was revoked")
    if check.revoked:
        log.info("revoked token %s refused", claims.jti)
        raise unauthorized("this token was revoked")
    if check.count > cfg.rate_per_min:
        raise rate_limited(window.retry_after)
    return Principal(
        claims.key_id,
        claims.role,
        key.get("name") or claims.name,
        claims.jti,
        claims.exp,
        claims.auth_time,
    )


def require(principal: Principal, role: str) -> None:
    if not principal.allows(role):
        raise forbidden(f"this needs the {role} role; this key has {principal.role}")
