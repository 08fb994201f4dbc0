"""No secret value ever lands in a log, a transcript, an artifact or a Firestore document.

The stack runs with values planted for this test: the model key (ANTHROPIC_API_KEY, sent to the
local model server as a real key would be sent to the API), the JWT signing key, the first admin
API key, and a webhook secret. Then a whole run goes through: a key exchanged for a token, a swarm
started through the API and run to completion, its transcript read back, a signed webhook
delivery, and the attacks that most often put a secret in a log (a wrong key that contains the
real one, the key sent as a bearer token, a forged signature). Afterwards every file of the run
folder (each process's log), every object in every bucket and every Firestore document is
searched for each value, and for the token the API issued. The functions trace into the run folder
(``CLOUDSWARM_TRACING=file``), so every span is searched too.
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
from emulators.config import LOCAL_MCP_SECRET, resolve_ports
from emulators.stack import Stack
from tests.conftest import stack_environ, wait_until
from tests.e2e.conftest import E2E_PORT_OFFSET, ModelServer, running_stack

PLANTED = {
    "model key": "sk-ant-planted-" + secrets.token_hex(20),
    "JWT signing key": "planted-jwt-" + secrets.token_urlsafe(40),
    "admin API key": f"csk_{secrets.token_hex(6)}_{secrets.token_urlsafe(36)}",
    "webhook secret": "planted-whsec-" + secrets.token_hex(20),
    "MCP token": "planted-mcp-" + secrets.token_urlsafe(30),
}
HOOK = "leak-check"
# Files that hold a secret by design: the stack's own copies of the values it was given.
BY_DESIGN = {"admin-key", "jwt-signing-key.secret", f"{LOCAL_MCP_SECRET}.secret"}


@pytest.fixture(scope="module")
def planted_stack(tmp_path_factory) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("secrets-stack")
    for name, key in (
        ("jwt-signing-key.secret", "JWT signing key"),
        ("admin-key", "admin API key"),
        (f"{LOCAL_MCP_SECRET}.secret", "MCP token"),
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
    function_env = {
        # A real key sends the functions to the real API; this one goes to the local server.
        "ANTHROPIC_BASE_URL": model_url,
        # The functions (which inherit this environment) write their spans into the run folder.
        "CLOUDSWARM_TRACING": "file",
        "CLOUDSWARM_TRACING_DIR": str(run_dir / "traces"),
    }
    with running_stack(run_dir, function_env, environ=environ) as stack:
        yield stack


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
    _repository_swarm(session, api, auth, env["CLOUDSWARM_MCP_URL"], model)
    assert PLANTED["MCP token"] not in json.dumps(model.requests())

    values = {**PLANTED, "issued token": token}
    found = _search_files(planted_stack.run_dir, values)
    found += _search_buckets(values)
    found += _search_firestore(values)
    assert not found, "secret values found:\n" + "\n".join(found)


def _repository_swarm(session, api: str, auth: dict, mcp_url: str, model: ModelServer) -> None:
    """A repository team whose every external call carries the planted MCP token (read from
    Secret Manager by the turn), its approvals decided through the API."""
    model._call("/_control/scenario", {"name": "repo"})
    policy = {"*": "allow", "create_branch": "ask", "write_file": "ask",
              "create_pull_request": "ask"}  # fmt: skip
    repo = {"name": "repo", "url": mcp_url, "token_secret": LOCAL_MCP_SECRET, "policy": policy}
    body = {"goal": "Fix issue #1", "budget": {"usd": 5}, "tools": {"mcp": [repo]}}
    created = session.post(f"{api}/api/swarms", json=body, headers=auth)
    assert created.status_code == 201, created.text
    sid = created.json()["swarm_id"]
    base = f"{api}/api/swarms/{sid}"

    def step() -> bool:
        if session.get(base, headers=auth).json()["status"] != "running":
            return True
        pending = session.get(f"{base}/approvals", params={"status": "pending"}, headers=auth)
        for a in pending.json()["approvals"]:
            verb = "reject" if a["agent_id"] == "reviewer" else "approve"
            decided = session.post(f"{base}/approvals/{a['id']}/{verb}", json={}, headers=auth)
            assert decided.status_code == 200, decided.text
        return False

    assert wait_until(step, timeout=120, every=0.5)
    assert session.get(base, headers=auth).json()["status"] == "completed"
    mcp = mcp_url.removesuffix("/mcp")
    log = session.get(f"{mcp}/_control/requests").json()["requests"]
    assert [r["tool"] for r in log if r["write"]] == [
        "create_branch",
        "write_file",
        "create_pull_request",
    ]
    assert all(r["auth_ok"] for r in log)


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
    spans = [p for p in (run_dir / "traces").glob("spans-*.jsonl") if p.stat().st_size]
    assert spans, f"no span file in {run_dir / 'traces'}: the spans went unsearched"
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
    # The MCP server demands the planted token, and the calls above were let in with it.
    assert planted_stack.config.mcp_token() == PLANTED["MCP token"]
