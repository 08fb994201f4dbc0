"""The `cloudswarm` console script end to end against the local stack's API function, and one
`cloudswarm run` that follows a whole swarm (agent_turn, task_dispatch, the local model server)
to completion."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from google.cloud import firestore

from cloudswarm import runtime
from cloudswarm.gcp.journal import Journal
from tests.integration.test_api_fixtures import functions, new_key

CLI = str(Path(sys.executable).parent / "cloudswarm")
RUN_TIMEOUT_S = 150


def cli(env: dict, *args: str, stdin: str | None = None, timeout: float = 120):
    return subprocess.run(
        [CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def as_json(result):
    return json.loads(ok(result))


@pytest.fixture(scope="module")
def api_url(stack):
    with functions(stack, ["api"]) as fns:
        yield fns["api"].url


def _env(stack, tmp_path: Path, url: str) -> dict:
    # The stack's client environment (for `admin create-key`), a private config file, no key.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSWARM_API_")}
    env.update(stack.env())
    env.update(
        CLOUDSWARM_CONFIG=str(tmp_path / "cli" / "config.json"),
        CLOUDSWARM_API_URL=url,
        COLUMNS="200",
    )
    return env


@pytest.fixture
def env(stack, tmp_path, api_url) -> dict:
    return _env(stack, tmp_path, api_url)


@pytest.fixture
def admin(env, tmp_path) -> dict:
    """An environment logged in as a fresh admin (key made with `admin create-key`)."""
    key_file = tmp_path / "admin.key"
    ok(
        cli(
            env,
            "admin",
            "create-key",
            "--role",
            "admin",
            "--name",
            "cli-admin",
            "--out",
            str(key_file),
        )
    )
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ok(cli(env, "login", "--api-key-stdin", stdin=key_file.read_text()))
    return env


def test_login_saves_a_private_config_and_a_bad_key_is_refused(env, admin, tmp_path):
    config = Path(env["CLOUDSWARM_CONFIG"])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = json.loads(config.read_text())
    assert saved["url"] == env["CLOUDSWARM_API_URL"] and saved["api_key"].startswith("csk_")
    other = {**env, "CLOUDSWARM_CONFIG": str(tmp_path / "other.json")}
    bad = cli(other, "login", "--api-key-stdin", stdin="csk_000000000000_" + "x" * 43)
    assert bad.returncode == 1 and "invalid API key" in bad.stderr
    assert "Traceback" not in bad.stderr
    nobody = cli(other, "status")
    assert nobody.returncode == 1 and "not logged in" in nobody.stderr


def test_an_unreachable_api_is_one_clear_line(admin):
    down = cli({**admin, "CLOUDSWARM_API_URL": "http://127.0.0.1:9"}, "status")
    assert down.returncode == 1 and "cannot reach the API" in down.stderr
    assert "Traceback" not in down.stderr


def test_steering_a_swarm_from_the_command_line(admin, project):
    sid = ok(cli(admin, "run", "Plan a launch", "--usd", "2", "--detach")).strip()
    assert sid.startswith("s-")
    listed = as_json(cli(admin, "--json", "status"))
    assert sid in [s["id"] for s in listed["swarms"]]
    assert "Plan a launch" in ok(cli(admin, "status", sid))
    shown = as_json(cli(admin, "--json", "status", sid))
    assert shown["swarm"]["budget"]["usd"] == 2
    assert "lead" in ok(cli(admin, "agents", sid))
    assert as_json(cli(admin, "--json", "tasks", sid)) == {"tasks": []}
    assert "Swarm started" in ok(cli(admin, "logs", sid))

    sent = as_json(cli(admin, "--json", "message", sid, "lead", "Please hurry"))
    assert sent["message_id"]

    store = runtime.store()
    body = store.request_approval_body(sid, "lead", "ap-cli", "publish", "the blog post")
    firestore.transactional(lambda txn: body(txn))(store.db.transaction())
    assert "ap-cli" in ok(cli(admin, "approvals", sid))
    approved = as_json(cli(admin, "--json", "approve", sid, "ap-cli", "--comment", "go"))
    assert approved["status"] == "approved"
    again = cli(admin, "reject", sid, "ap-cli")
    assert again.returncode == 1 and "already approved" in again.stderr

    journal = Journal(runtime.blobs(), runtime.settings().bucket("transcripts"))
    journal.write_transcript(sid, "lead", 1, "t", 0, {"request": {"model": "m"}, "n": 1})
    lines = ok(cli(admin, "--json", "transcript", sid, "lead"))
    assert json.loads(lines)["record"]["n"] == 1

    assert "paused" in ok(cli(admin, "pause", sid, "--reason", "lunch"))
    assert "running" in ok(cli(admin, "resume", sid))
    assert "ENGAGED" in ok(cli(admin, "kill", "--reason", "cli drill"))
    assert as_json(cli(admin, "--json", "kill-switch"))["engaged"] is True
    assert "released" in ok(cli(admin, "release", "--reason", "drill over"))
    assert "killed" in ok(cli(admin, "stop", sid))


def test_keys_and_roles_from_the_command_line(admin, tmp_path):
    viewer_key = ok(cli(admin, "keys", "create", "--name", "reader", "--role", "viewer")).strip()
    keys = as_json(cli(admin, "--json", "keys", "list"))["keys"]
    reader = next(k for k in keys if k["name"] == "reader")
    viewer = {**admin, "CLOUDSWARM_CONFIG": str(tmp_path / "viewer.json")}
    ok(cli(viewer, "login", "--api-key-stdin", stdin=viewer_key))
    ok(cli(viewer, "status"))
    refused = cli(viewer, "kill", "--reason", "not mine")
    assert refused.returncode == 1 and "forbidden" in refused.stderr
    ok(cli(admin, "keys", "revoke", reader["key_id"]))
    revoked = cli(viewer, "status")
    assert revoked.returncode == 1 and "cloudswarm login" in revoked.stderr
    ok(cli(admin, "logout"))
    assert "api_key" not in json.loads(Path(admin["CLOUDSWARM_CONFIG"]).read_text())


@pytest.mark.timeout(RUN_TIMEOUT_S + 120)
def test_run_follows_a_swarm_to_completion(stack, tmp_path, api_url, clean_firestore, project):
    """The whole stack: the CLI starts a swarm through the API, agent turns run behind Pub/Sub
    push against the local model server (its scripted demo), and `run` follows the activity feed
    until the swarm completes."""
    with functions(stack, ["model", "agent_turn", "task_dispatch"]) as fns:
        env = _env(stack, tmp_path, api_url)
        _, key = new_key(project, "operator", "cli-run")
        env["CLOUDSWARM_API_KEY"] = key
        result = cli(
            env, "run", "Write a short guide to the task board", "--usd", "5",
            "--timeout", str(RUN_TIMEOUT_S), "--interval", "0.5",
            timeout=RUN_TIMEOUT_S + 30,
        )  # fmt: skip
        logs = {name: fn.log_tail(30) for name, fn in fns.items()}
        assert result.returncode == 0, (
            f"exit {result.returncode}\n{result.stdout}\n{result.stderr}\n{logs}"
        )
    out = result.stdout
    # The feed was followed live, from the start to the lead's finish, then the verdict.
    assert out.index("Swarm started") < out.index("spawned") < out.index("Swarm completed")
    assert out.splitlines()[-1].startswith("swarm s-") and "completed" in out.splitlines()[-1]
