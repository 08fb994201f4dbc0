"""Secret Manager: credentials by logical name (``resources.json``, ``secrets``).

In GCP, Terraform mounts each function's secrets as environment variables, so a read is free and
needs no permission at run time; the direct Secret Manager read is the fallback (a local stack,
or a tool run outside a function). Every value handed out is registered with the log redaction
first, so it cannot reach a log afterwards.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import cache

import google_crc32c
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager
from requests import exceptions as http_exc

from cloudswarm import log, names
from cloudswarm.errors import ConfigError, PermanentError, TransientError
from cloudswarm.settings import Settings
from cloudswarm.settings import settings as process_settings

# Bounds one read, retries included, well inside a function's cold start budget.
READ_TIMEOUT_S = 30.0

# Process-wide: functions re-read nothing per request. Keyed by endpoint and resource name, so
# two configurations in one process (tests) never see each other's values.
_cache: dict[tuple[str, str], str] = {}
_cache_lock = threading.Lock()
_TRANSIENT = (
    gexc.TooManyRequests,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.GatewayTimeout,
    gexc.DeadlineExceeded,
    gexc.Aborted,
    gexc.RetryError,
    http_exc.ConnectionError,
    http_exc.Timeout,
)


def _clean(value: str) -> str:
    # A value stored with `echo ... | gcloud secrets versions add` ends in a newline, which would
    # break an HTTP header; no real key ends in one.
    return value.rstrip("\r\n")


def _spec(logical_name: str) -> dict:
    declared = names.resources()["secrets"]
    if logical_name not in declared:
        raise ConfigError(
            f"secret {logical_name!r} is not declared: add it to shared/cloudswarm/resources.json "
            f"under 'secrets' (declared: {', '.join(sorted(declared))})"
        )
    return declared[logical_name]


def _endpoint(s: Settings) -> str:
    host = s.secrets_emulator_host
    if not host:
        return ""
    # Accept both host:port (like the other *_EMULATOR_HOST variables) and a full URL.
    return host if "://" in host else f"http://{host}"


@cache
def _client(endpoint: str) -> secretmanager.SecretManagerServiceClient:
    if endpoint:
        # The local emulator speaks REST only and checks no credentials.
        return secretmanager.SecretManagerServiceClient(
            transport="rest",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": endpoint},
        )
    try:
        return secretmanager.SecretManagerServiceClient()
    except auth_exc.DefaultCredentialsError as e:
        raise ConfigError(
            "no Google credentials to read Secret Manager: run "
            "`gcloud auth application-default login`, or set CLOUDSWARM_SECRETS_EMULATOR_HOST "
            "for the local stack, or set the secret's environment variable"
        ) from e


class SecretMissing(ConfigError):
    """The secret, or any enabled version of it, does not exist; the message says how to add it."""


def get_secret(
    logical_name: str,
    *,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """The value of a declared secret: its environment variable if set, else Secret Manager.

    Raises SecretMissing (a ConfigError) when it does not exist, ConfigError when it may not be
    read, TransientError when Secret Manager is unavailable for now.
    """
    spec = _spec(logical_name)
    env = os.environ if env is None else env
    if from_env := _clean(env.get(spec["env"], "")):
        log.register_secret(from_env)
        return from_env

    s = settings or process_settings()
    return _read_cached(s, s.secret(logical_name), _missing_message(logical_name, spec["env"], s))


def _read_cached(s: Settings, secret_id: str, missing: str) -> str:
    """The secret's latest value, read once per process and registered with the log redaction
    before it is handed out; SecretMissing (saying ``missing``) when it is absent or empty."""
    endpoint = _endpoint(s)
    secret = f"projects/{s.project}/secrets/{secret_id}"
    key = (endpoint, secret)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    try:
        value = _read(endpoint, secret)
    except gexc.NotFound as e:
        raise SecretMissing(missing) from e
    if not value:
        raise SecretMissing(missing)
    log.register_secret(value)
    with _cache_lock:
        _cache[key] = value
    return value


def find_secret(
    logical_name: str,
    *,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Like ``get_secret``, but None when the secret does not exist.

    For optional secrets (``"required": false``): a local stack that talks to the local model
    server has no Anthropic key. Every other failure still raises.
    """
    try:
        return get_secret(logical_name, settings=settings, env=env)
    except SecretMissing:
        return None


def get_named_secret(secret_id: str, *, settings: Settings | None = None) -> str:
    """The latest value of the secret ``secret_id`` in the project, as a swarm names it (an
    external server's token, ``tools.mcp[].token_secret``): not declared, never from the
    environment."""
    from cloudswarm.core.external import TOKEN_SECRET_PREFIX

    s = settings or process_settings()
    own = {s.secret(n) for n in names.resources()["secrets"]}
    if not secret_id.startswith(TOKEN_SECRET_PREFIX) or secret_id in own:
        # Checked at start too; here as well, since what is read here leaves for another server.
        raise PermanentError(
            f"secret {secret_id} may not be sent to an external server: a token secret's id "
            f"starts with {TOKEN_SECRET_PREFIX!r} and is none of CloudSwarm's own secrets"
        )
    missing = f"secret {secret_id} does not exist or is empty in project {s.project}"
    return _read_cached(s, secret_id, missing)


def _missing_message(logical_name: str, env_name: str, s: Settings) -> str:
    secret_id, project = s.secret(logical_name), s.project
    return (
        f"secret {logical_name} is missing: set {env_name}, or store it in Secret Manager with "
        f'`printf %s "$VALUE" | gcloud secrets create {secret_id} --project {project} '
        "--replication-policy automatic --data-file=-` (if the secret exists already: "
        f"`... | gcloud secrets versions add {secret_id} --project {project} --data-file=-`)"
    )


def _read(endpoint: str, secret: str) -> str:
    """The latest version's text; NotFound passes through for the caller to explain."""
    try:
        response = _client(endpoint).access_secret_version(
            request={"name": f"{secret}/versions/latest"}, timeout=READ_TIMEOUT_S
        )
    except gexc.NotFound:
        raise
    except gexc.FailedPrecondition as e:
        raise ConfigError(
            f"the latest version of {secret} is disabled or destroyed: add a new one with "
            "`gcloud secrets versions add ... --data-file=-` or enable it again"
        ) from e
    except (gexc.PermissionDenied, gexc.Unauthenticated) as e:
        raise ConfigError(
            f"not allowed to read {secret}: grant the function's service account "
            "roles/secretmanager.secretAccessor on it (Terraform does this for declared secrets)"
        ) from e
    except _TRANSIENT as e:
        raise TransientError(f"Secret Manager unavailable reading {secret}: {e}") from e
    except gexc.GoogleAPICallError as e:
        raise PermanentError(f"Secret Manager refused to read {secret}: {e}") from e

    payload = response.payload
    # Secret Manager sends a checksum so a value corrupted on the way is never used.
    if "data_crc32c" in payload and google_crc32c.value(payload.data) != payload.data_crc32c:
        raise TransientError(f"{secret}: the value read does not match its checksum")
    try:
        return _clean(payload.data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{secret} does not hold UTF-8 text: store the value as text") from e


def clear_cache() -> None:
    """Forget the values read so far, so a rotated secret is read again."""
    with _cache_lock:
        _cache.clear()
