"""The API's own settings, read once from the environment; a bad value fails loudly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from cloudswarm.errors import ConfigError

MAX_SESSION_S = 7 * 24 * 3600  # no session of ours, refreshed or not, lasts longer
LOCAL_UI_ORIGINS = ("http://127.0.0.1:8080", "http://localhost:8080")


def _int(env: Mapping[str, str], key: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(key, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{key}={raw!r} is not a whole number: set it like {key}={default}"
        ) from None
    if not lo <= value <= hi:
        raise ConfigError(f"{key}={value} must be between {lo} and {hi}")
    return value


@dataclass(frozen=True)
class ApiConfig:
    # Who issues tokens and who they are for: checked on every request, so a token minted for
    # another deployment (or another service sharing the key) is refused.
    issuer: str = "cloudswarm"
    audience: str = "cloudswarm-api"
    token_ttl_s: int = 900
    # How long a signed-in UI session may go on refreshing its token (POST /api/auth/refresh)
    # before the key has to be given again: the refresh cannot make a session last for ever.
    session_max_s: int = 8 * 3600
    max_body_bytes: int = 64 * 1024
    webhook_max_body_bytes: int = 256 * 1024
    rate_per_min: int = 600
    token_rate_per_min: int = 30
    webhook_rate_per_min: int = 60
    webhook_tolerance_s: int = 300
    rate_shards: int = 4
    cors_origins: tuple[str, ...] = ()
    emulator: bool = False
    firebase_service_account: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if env is None else env
        emulator = bool(env.get("FIRESTORE_EMULATOR_HOST"))
        raw_origins = env.get("CLOUDSWARM_CORS_ORIGINS")
        if raw_origins is None:
            # Only the local stack gets a default: a deployment names its UI origin explicitly.
            origins = LOCAL_UI_ORIGINS if emulator else ()
        else:
            origins = tuple(o.strip().rstrip("/") for o in raw_origins.split(",") if o.strip())
        for o in origins:
            if o == "*" or not o.startswith(("https://", "http://")):
                raise ConfigError(
                    f"CLOUDSWARM_CORS_ORIGINS holds {o!r}: list exact origins such as "
                    "https://ui.example.com, comma-separated (a wildcard is never allowed)"
                )
        return cls(
            issuer=env.get("CLOUDSWARM_JWT_ISSUER") or "cloudswarm",
            audience=env.get("CLOUDSWARM_JWT_AUDIENCE") or "cloudswarm-api",
            token_ttl_s=_int(env, "CLOUDSWARM_TOKEN_TTL_S", 900, 60, 3600),
            session_max_s=_int(env, "CLOUDSWARM_SESSION_MAX_S", 8 * 3600, 60, MAX_SESSION_S),
            max_body_bytes=_int(env, "CLOUDSWARM_API_MAX_BODY", 64 * 1024, 1024, 10 * 2**20),
            webhook_max_body_bytes=_int(
                env, "CLOUDSWARM_WEBHOOK_MAX_BODY", 256 * 1024, 1024, 10 * 2**20
            ),
            rate_per_min=_int(env, "CLOUDSWARM_API_RATE_PER_MIN", 600, 1, 1_000_000),
            token_rate_per_min=_int(env, "CLOUDSWARM_TOKEN_RATE_PER_MIN", 30, 1, 1_000_000),
            webhook_rate_per_min=_int(env, "CLOUDSWARM_WEBHOOK_RATE_PER_MIN", 60, 1, 1_000_000),
            webhook_tolerance_s=_int(env, "CLOUDSWARM_WEBHOOK_TOLERANCE_S", 300, 10, 3600),
            rate_shards=_int(env, "CLOUDSWARM_RATE_SHARDS", 4, 1, 32),
            cors_origins=origins,
            emulator=emulator,
            firebase_service_account=env.get("CLOUDSWARM_FIREBASE_SERVICE_ACCOUNT", ""),
        )


@cache
def config() -> ApiConfig:
    return ApiConfig.from_env()
