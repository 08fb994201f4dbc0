"""No secret value ever lands in a log, a transcript, an artifact or a Firestore document.

The stack runs with values planted for this test: the model key (ANTHROPIC_API_KEY, sent to the
local model server as a real key would be sent to the API), the JWT signing key, the first admin
API key, and a webhook secret. Then a whole run goes through: a key exchanged for a token, a swarm
started through the API and run to completion, its transcript read back, a signed webhook
delivery, and the attacks that most often put a secret in a log (a wrong key that contains the
real one, the key sent as a bearer token, a forged signature). Afterwards every file of the run
folder (each process's log), every object in every bucket and every Firestore document is
searched for each value, and for the token the API issued.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cloudswarm import runtime
from cloudswarm.api import webhooks
from emulators.config import resolve_ports
from emulators.stack import Stack
from tests.conftest import stack_environ, wait_until
from tests.e2e.conftest import E2E_PORT_OFFSET, ModelServer, reset_runtime

PLANTED = {
    "model key": "sk-ant-planted-" + secrets.token_hex(20),
    "JWT signing key": "planted-jwt-" + secrets.token_urlsafe(40),
    "admin API key": f"csk_{secrets.token_hex(6)}_{secrets.token_urlsafe(36)}",
    "webhook secret": "planted-whsec-" + secrets.token_hex(20),
}
HOOK = "leak-check"
# Files that hold a secret by design: the stack's own copies of the values it was given.
BY_DESIGN = {"admin-key", "jwt-signing-key.secret"}


@pytest.fixture(scope="module")
def planted_stack(tmp_path_factory) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("secrets-stack")
    for name, key in (
        ("jwt-signing-key.secret", "JWT signing key"),
        ("admin-key", "admin API key"),
    ):
        path = run_dir / name
        path.write_text(PLANTED[key] + "\n")
        path.chmod(0o600)
    hooks = {HOOK: {"secret": PLANTED["webhook secret"], "template": "Handle: {title}"}}
    environ = {
        **stack_environ(),
        "ANTHROPIC_API_KEY": PLANTED["model key"],
        "CLOUDSWARM_WEBHOOK_SECRETS": json.dumps(hooks),
    }
    model_url = f"http://127.0.0.1:{resolve_ports({}, E2E_PORT_OFFSET)['model']}"
    with pytest.MonkeyPatch.context() as mp:
        # A real key sends the functions to the real API; this one goes to the local server.
        mp.setenv("ANTHROPIC_BASE_URL", model_url)
        mp.delenv("ANTHROPIC_API_KEY", raising=False)
        stack = Stack(run_dir=run_dir, port_offset=E2E_PORT_OFFSET, profile="full", environ=environ)
        stack.up()
        try:
            for key, value in stack.env().items():
                mp.setenv(key, value)
            reset_runtime()
            yield stack
        finally:
            stack.down()
            reset_runtime()


def test_no_secret_value_reaches_a_log_a_transcript_or_a_document(planted_stack):
    env = planted_stack.env()
    api, model = env["CLOUDSWARM_API_URL"], ModelServer(env["CLOUDSWARM_MODEL_URL"])
    model.reset()
    session = requests.Session()
    session.trust_env = False  # never a proxy for 127.0.0.1
    admin_key = PLANTED["admin API key"]

    # The attacks first: each one is refused, and none may leave the value in a log.
    assert session.post(f"{api}/api/auth/token", json={"api_key": admin_key + "x"}).status_code in (
        401,
        422,
    )
    assert session.get(
        f"{api}/api/swarms", headers={"Authorization": f"Bearer {admin_key}"}
    ).status_code in (401, 403)
    forged = json.dumps({"title": "forged"}).encode()
    stamp = str(int(time.time()))
    bad = session.post(
        f"{api}/webhooks/{HOOK}",
        data=forged,
        headers={
            "Content-Type": "application/json",
            "X-CloudSwarm-Signature": webhooks.sign(PLANTED["webhook secret"] + "x", forged, stamp),
            "X-CloudSwarm-Timestamp": stamp,
            "X-CloudSwarm-Delivery": "forged-1",
        },
    )
    assert bad.status_code == 401, bad.text

    # A whole run: token, swarm through the API, its transcript, a signed webhook delivery.
    got = session.post(f"{api}/api/auth/token", json={"api_key": admin_key})
    assert got.status_code == 200, got.text
    token = got.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    created = session.post(
        f"{api}/api/swarms", json={"goal": "demo", "budget": {"usd": 5}}, headers=auth
    )
    assert created.status_code == 201, created.text
    sid = created.json()["swarm_id"]
    body = json.dumps({"title": "a signed delivery"}).encode()
    delivered = session.post(
        f"{api}/webhooks/{HOOK}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-CloudSwarm-Signature": webhooks.sign(PLANTED["webhook secret"], body, stamp),
            "X-CloudSwarm-Timestamp": stamp,
            "X-CloudSwarm-Delivery": "signed-1",
        },
    )
    assert delivered.status_code == 202, delivered.text
    done = wait_until(
        lambda: (
            session.get(f"{api}/api/swarms/{sid}", headers=auth).json()["status"]
            in ("completed", "failed", "paused")
        ),
        timeout=180,
        every=0.5,
    )
    assert done and session.get(f"{api}/api/swarms/{sid}", headers=auth).json()["status"] == (
        "completed"
    )
    transcript = session.get(f"{api}/api/swarms/{sid}/agents/lead/transcript", headers=auth)
    assert transcript.status_code == 200 and transcript.text.strip(), transcript.text[:300]
    # The model server saw the planted key: the value really went through the functions.
    assert any(r.get("status") == 200 for r in model.requests())

    values = {**PLANTED, "issued token": token}
    found = _search_files(planted_stack.run_dir, values)
    found += _search_buckets(values)
    found += _search_firestore(values)
    assert not found, "secret values found:\n" + "\n".join(found)


def _hits(text: str, values: dict[str, str], where: str) -> list[str]:
    return [f"{name} in {where}" for name, value in values.items() if value in text]


def _search_files(run_dir: Path, values: dict[str, str]) -> list[str]:
    found, searched = [], 0
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file() or path.name in BY_DESIGN:
            continue
        searched += 1
        found += _hits(path.read_bytes().decode("utf-8", "replace"), values, str(path))
    assert searched >= 10, f"only {searched} files in {run_dir}: where are the logs?"
    return found


def _search_buckets(values: dict[str, str]) -> list[str]:
    client = runtime.blobs().client
    found, objects = [], 0
    for bucket in client.list_buckets():
        for blob in client.list_blobs(bucket.name):
            objects += 1
            text = blob.download_as_bytes().decode("utf-8", "replace")
            found += _hits(text, values, f"gs://{bucket.name}/{blob.name}")
    assert objects > 10, "no transcripts or artifacts were written"
    return found


def _search_firestore(values: dict[str, str]) -> list[str]:
    found, docs = [], 0

    def walk(collection) -> None:
        nonlocal docs
        for snap in collection.stream():
            docs += 1
            text = json.dumps(snap.to_dict(), default=str)
            found.extend(_hits(text, values, snap.reference.path))
            for sub in snap.reference.collections():
                walk(sub)

    for collection in runtime.store().db.collections():
        walk(collection)
    assert docs > 20, f"only {docs} documents"
    return found


def test_the_planted_values_were_the_ones_in_use(planted_stack):
    """The search above means something only if the stack used the planted values."""
    assert (planted_stack.run_dir / "admin-key").read_text().strip() == PLANTED["admin API key"]
    env = planted_stack.config.function_env("agent_turn")
    assert env["ANTHROPIC_API_KEY"] == PLANTED["model key"]
    assert env["ANTHROPIC_BASE_URL"] == os.environ["ANTHROPIC_BASE_URL"]
    api_env = planted_stack.config.function_env("api")
    assert api_env["CLOUDSWARM_JWT_SIGNING_KEY"] == PLANTED["JWT signing key"]
    assert PLANTED["webhook secret"] in api_env["CLOUDSWARM_WEBHOOK_SECRETS"]
