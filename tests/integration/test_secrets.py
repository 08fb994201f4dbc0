"""The Secret Manager adapter against a real `drongo server` and the real client library.

The server is this module's own: started on a free port in its own process group, polled over
HTTP until it answers, and killed with its group at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager

from cloudswarm import log
from cloudswarm.errors import ConfigError, PermanentError, TransientError
from cloudswarm.gcp import secrets
from cloudswarm.settings import Settings

DRONGO = Path(sys.executable).with_name("drongo")
PROJECT = "cloudswarm-secrets-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/drongo/health", timeout=1).ok
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    logfile = (tmp_path_factory.mktemp("drongo") / "drongo.log").open("w")
    proc = subprocess.Popen(
        [str(DRONGO), "server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown reaches any child too
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _healthy(url):
            if time.monotonic() > deadline:
                pytest.fail(f"drongo did not answer on {url} within 20 s; see {logfile.name}")
            try:
                # Doubles as the poll interval and notices an early exit at once.
                proc.wait(timeout=0.05)
                pytest.fail(f"drongo exited with {proc.returncode}; see {logfile.name}")
            except subprocess.TimeoutExpired:
                pass
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        logfile.close()


@pytest.fixture
def prefix() -> str:
    """A fresh prefix per test: secrets live on in the server, and the adapter caches values."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cfg(endpoint, prefix) -> Settings:
    host = endpoint.removeprefix("http://")  # host:port, as the other *_EMULATOR_HOST variables
    return Settings(project=PROJECT, prefix=prefix, secrets_emulator_host=host)


@pytest.fixture
def client(endpoint) -> secretmanager.SecretManagerServiceClient:
    return secretmanager.SecretManagerServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def store(client, cfg: Settings, logical: str, value: str | None) -> str:
    """Create the secret (if need be) and, given a value, add it as the latest version."""
    secret_id = cfg.secret(logical)
    # Over REST an existing secret is a 409, which api_core maps to Conflict (AlreadyExists' base).
    with contextlib.suppress(gexc.Conflict):
        client.create_secret(
            parent=f"projects/{cfg.project}",
            secret_id=secret_id,
            secret={"replication": {"automatic": {}}},
        )
    path = client.secret_path(cfg.project, secret_id)
    if value is not None:
        client.add_secret_version(parent=path, payload={"data": value.encode()})
    return path


def test_reads_the_latest_version_and_redacts_it(client, cfg):
    value = f"jwt-{uuid.uuid4().hex}"
    store(client, cfg, "jwt-signing-key", "an older value")
    # As `echo value | gcloud secrets versions add` stores it: with a newline.
    store(client, cfg, "jwt-signing-key", value + "\n")
    assert secrets.get_secret("jwt-signing-key", settings=cfg, env={}) == value
    assert log.redact(f"token {value}") == "token [REDACTED]"


def test_the_environment_variable_wins(client, cfg):
    store(client, cfg, "anthropic-api-key", "from-secret-manager")
    from_env = f"sk-ant-{uuid.uuid4().hex}"
    env = {"ANTHROPIC_API_KEY": from_env}
    assert secrets.get_secret("anthropic-api-key", settings=cfg, env=env) == from_env
    assert log.redact(from_env) == "[REDACTED]"
    # An empty variable counts as unset.
    empty = {"ANTHROPIC_API_KEY": ""}
    assert secrets.get_secret("anthropic-api-key", settings=cfg, env=empty) == (
        "from-secret-manager"
    )


def test_the_process_environment_is_the_default(client, cfg, monkeypatch):
    store(client, cfg, "webhook-secrets", "from-secret-manager")
    monkeypatch.setenv("CLOUDSWARM_WEBHOOK_SECRETS", "from-process-env\n")
    assert secrets.get_secret("webhook-secrets", settings=cfg) == "from-process-env"


def test_a_missing_secret_says_how_to_create_it(cfg):
    with pytest.raises(ConfigError) as info:
        secrets.get_secret("jwt-signing-key", settings=cfg, env={})
    message = str(info.value)
    assert "set CLOUDSWARM_JWT_SIGNING_KEY" in message
    assert f"gcloud secrets create {cfg.prefix}-jwt-signing-key --project {PROJECT}" in message
    assert isinstance(info.value, secrets.SecretMissing)
    assert isinstance(info.value.__cause__, gexc.NotFound)
    assert secrets.find_secret("jwt-signing-key", settings=cfg, env={}) is None


def test_a_secret_without_versions_is_missing_too(client, cfg):
    # What the local bootstrap leaves when the user gave no value.
    store(client, cfg, "anthropic-api-key", None)
    with pytest.raises(secrets.SecretMissing, match="secret anthropic-api-key is missing"):
        secrets.get_secret("anthropic-api-key", settings=cfg, env={})
    assert secrets.find_secret("anthropic-api-key", settings=cfg, env={}) is None


def test_values_are_cached_per_process(client, cfg):
    store(client, cfg, "webhook-secrets", "first")
    assert secrets.get_secret("webhook-secrets", settings=cfg, env={}) == "first"
    store(client, cfg, "webhook-secrets", "second")
    assert secrets.get_secret("webhook-secrets", settings=cfg, env={}) == "first"
    secrets.clear_cache()
    assert secrets.get_secret("webhook-secrets", settings=cfg, env={}) == "second"


def test_the_emulator_host_may_be_a_url(client, cfg, endpoint):
    store(client, cfg, "webhook-secrets", "via-url")
    as_url = Settings(project=PROJECT, prefix=cfg.prefix, secrets_emulator_host=endpoint)
    assert secrets.get_secret("webhook-secrets", settings=as_url, env={}) == "via-url"


def test_an_undeclared_name_is_a_config_error(cfg):
    with pytest.raises(ConfigError, match=r"'nope' is not declared.*anthropic-api-key"):
        secrets.get_secret("nope", settings=cfg, env={})


def test_an_unreachable_secret_manager_is_transient(prefix):
    down = Settings(
        project=PROJECT, prefix=prefix, secrets_emulator_host=f"127.0.0.1:{free_port()}"
    )
    with pytest.raises(TransientError, match="Secret Manager unavailable") as info:
        secrets.get_secret("jwt-signing-key", settings=down, env={})
    assert info.value.__cause__ is not None


# The errors no emulator produces on demand, from a stand-in client.


class _Payload:
    def __init__(self, data: bytes, crc: int | None = None):
        self.data = data
        if crc is not None:
            self.data_crc32c = crc

    def __contains__(self, field: str) -> bool:
        return hasattr(self, field)


class _Response:
    def __init__(self, payload: _Payload):
        self.payload = payload


class _StubClient:
    def __init__(self, outcome):
        self.outcome = outcome

    def access_secret_version(self, request, timeout):
        assert request["name"].endswith("/versions/latest")
        assert timeout == secrets.READ_TIMEOUT_S
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return _Response(self.outcome)


@pytest.fixture
def stub(monkeypatch, prefix):
    cfg = Settings(project=PROJECT, prefix=prefix, secrets_emulator_host="stub:1")

    def use(outcome):
        monkeypatch.setattr(secrets, "_client", lambda endpoint: _StubClient(outcome))
        return lambda: secrets.get_secret("jwt-signing-key", settings=cfg, env={})

    return use


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (gexc.PermissionDenied("no"), ConfigError, "roles/secretmanager.secretAccessor"),
        (gexc.Unauthenticated("no"), ConfigError, "roles/secretmanager.secretAccessor"),
        (gexc.FailedPrecondition("disabled"), ConfigError, "disabled or destroyed"),
        (gexc.ServiceUnavailable("busy"), TransientError, "unavailable"),
        (gexc.TooManyRequests("slow down"), TransientError, "unavailable"),
        (gexc.InternalServerError("oops"), TransientError, "unavailable"),
        (gexc.DeadlineExceeded("late"), TransientError, "unavailable"),
        (gexc.InvalidArgument("bad name"), PermanentError, "refused"),
    ],
)
def test_library_errors_are_translated(stub, error, kind, words):
    read = stub(error)
    with pytest.raises(kind, match=words) as info:
        read()
    assert info.value.__cause__ is error
    assert not isinstance(info.value, secrets.SecretMissing)


def test_a_checksum_mismatch_is_never_used(stub):
    with pytest.raises(TransientError, match="checksum"):
        stub(_Payload(b"value", crc=12345))()


def test_a_matching_checksum_is_accepted(stub):
    import google_crc32c

    assert stub(_Payload(b"value\n", crc=google_crc32c.value(b"value\n")))() == "value"


def test_binary_values_are_refused(stub):
    with pytest.raises(ConfigError, match="UTF-8"):
        stub(_Payload(b"\xff\xfe"))()


def test_an_empty_value_is_missing(stub):
    with pytest.raises(secrets.SecretMissing):
        stub(_Payload(b"\n"))()


def test_a_secret_named_by_a_swarm_is_read_as_is_and_redacted(client, cfg):
    """An external server's token (``tools.mcp[].token_secret``) names its secret directly."""
    secret_id = f"mcp-{uuid.uuid4().hex[:8]}"
    value = f"tok-{uuid.uuid4().hex}"
    client.create_secret(
        parent=f"projects/{cfg.project}",
        secret_id=secret_id,
        secret={"replication": {"automatic": {}}},
    )
    path = client.secret_path(cfg.project, secret_id)
    client.add_secret_version(parent=path, payload={"data": value.encode()})
    assert secrets.get_named_secret(secret_id, settings=cfg) == value
    assert log.redact(f"Bearer {value}") == "Bearer [REDACTED]"
    with pytest.raises(secrets.SecretMissing):
        secrets.get_named_secret("mcp-absent", settings=cfg)


def test_cloudswarm_own_secrets_are_never_read_for_an_external_server(client, cfg):
    """A token secret is an ``mcp-`` secret and none of CloudSwarm's own (declared) secrets:
    its value leaves for another server, so the model key or the signing key never may."""
    own = [cfg.secret(n) for n in ("anthropic-api-key", "jwt-signing-key", "webhook-secrets")]
    for secret_id in [*own, "jwt-signing-key", "some-token"]:
        with pytest.raises(PermanentError, match="may not be sent to an external server"):
            secrets.get_named_secret(secret_id, settings=cfg)
