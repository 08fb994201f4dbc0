"""Short-lived JWTs: issued for a verified API key, checked on every request.

HS256 is pinned: only this service signs and verifies, so a shared secret (Secret Manager's
``jwt-signing-key``) is enough, and pinning one algorithm rules out the ``none`` and
key-confusion attacks. Every token names its issuer and audience, carries a unique ``jti`` (so it
can be revoked on its own) and the id of the key it came from (so revoking the key revokes it).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import jwt

from cloudswarm.api.config import MAX_SESSION_S, ApiConfig
from cloudswarm.api.routing import ROLES
from cloudswarm.errors import ConfigError
from cloudswarm.gcp.secrets import get_secret

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
MAX_TOKEN_CHARS = 4096
LEEWAY_S = 10  # clock skew between instances
JTI = re.compile(r"^[0-9a-f]{32}$")
KEY_ID = re.compile(r"^[0-9a-f]{12}$")
REQUIRED = ["exp", "iat", "nbf", "aud", "iss", "jti", "sub"]


class InvalidToken(Exception):
    """Why a token is refused; the client only ever sees a generic 401."""


@dataclass(frozen=True)
class Claims:
    key_id: str
    role: str
    name: str
    jti: str
    iat: int
    exp: int
    # When the session began: the key exchange that started the chain of refreshed tokens
    # (the OpenID ``auth_time`` claim). A refresh never issues a token past
    # auth_time + session_max_s.
    auth_time: int = 0


def signing_key() -> bytes:
    key = get_secret("jwt-signing-key").encode()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"jwt-signing-key holds {len(key)} bytes; HS256 needs at least {MIN_KEY_BYTES}: "
            "store a random value such as `openssl rand -base64 48`"
        )
    return key


def issue(
    cfg: ApiConfig,
    *,
    key_id: str,
    role: str,
    name: str,
    key: bytes | None = None,
    auth_time: int | None = None,
):
    """A signed token and its claims: a new session's, or with ``auth_time`` the next token
    of a session begun then, which expires no later than the session's end."""
    now = int(time.time())
    began = now if auth_time is None else auth_time
    exp = min(now + cfg.token_ttl_s, session_end(cfg, began))
    claims = Claims(key_id, role, name, uuid.uuid4().hex, now, exp, began)
    payload = {
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "sub": key_id,
        "role": role,
        "name": name,
        "jti": claims.jti,
        "iat": now,
        "nbf": now,
        "exp": claims.exp,
        "auth_time": began,
    }
    token = jwt.encode(payload, key or signing_key(), algorithm=ALGORITHM)
    return token, claims


def verify(cfg: ApiConfig, token: str, key: bytes | None = None) -> Claims:
    """The claims of a good token, or InvalidToken. Signature, algorithm, time, issuer and
    audience are all checked; revocation is the caller's (it needs Firestore)."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise InvalidToken("not a compact JWS")
    try:
        header = jwt.get_unverified_header(token)
        # pyjwt enforces ``algorithms`` too; this refuses a mismatched header before any crypto.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        claims = jwt.decode(
            token,
            key or signing_key(),
            algorithms=[ALGORITHM],
            audience=cfg.audience,
            issuer=cfg.issuer,
            leeway=LEEWAY_S,
            options={"require": REQUIRED, "strict_aud": True},
        )
    except jwt.PyJWTError as e:
        raise InvalidToken(f"{type(e).__name__}: {e}") from e
    role, jti, sub = claims.get("role"), claims.get("jti"), claims.get("sub")
    if role not in ROLES:
        raise InvalidToken("unknown role")
    if not isinstance(jti, str) or not JTI.match(jti):
        raise InvalidToken("malformed jti")
    if not isinstance(sub, str) or not KEY_ID.match(sub):
        raise InvalidToken("malformed subject")
    iat, exp = claims["iat"], claims["exp"]
    # A token living longer than we ever issue was not minted by this service's rules.
    if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600:
        raise InvalidToken("lifetime out of bounds")
    began = claims.get("auth_time", iat)  # tokens issued before sessions were refreshable
    if not isinstance(began, int) or not 0 <= iat - began <= MAX_SESSION_S:
        raise InvalidToken("session start out of bounds")
    return Claims(sub, role, str(claims.get("name", ""))[:100], jti, iat, exp, began)


def session_end(cfg: ApiConfig, auth_time: int) -> int:
    """When a session begun at ``auth_time`` ends: no token of it is valid past this."""
    return auth_time + cfg.session_max_s
