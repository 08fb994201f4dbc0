"""The `cloudswarm` console script end to end against the local stack's API function, one
`cloudswarm run` that follows a whole swarm (agent_turn, task_dispatch, the local model server)
to completion, and hostile text through every command that shows text.

The hostile text enters where it would in life: a goal typed on the command line goes through
the API; what agents write (events, tasks, agent documents, approvals, transcripts) and what
another operator names or says (key names, kill-switch reasons) is written where the backend
writes it. Every command must show markup literally, pass no escape or control sequence to the
terminal, cut what is too long for a cell, and never print a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cloudswarm import runtime
from cloudswarm.core import board, team
from cloudswarm.core.documents import event_doc, new_agent_doc
from cloudswarm.core.models import Role
from cloudswarm.gcp.executor import firestore_fields
from cloudswarm.gcp.journal import Journal, Workspace
from cloudswarm.gcp.keys import KEYS
from tests import hostile
from tests.integration.test_api_artifacts import PLAN_V1, PLAN_V2, PNG, seed_workspace
from tests.integration.test_api_fixtures import functions, new_key

CLI = str(Path(sys.executable).parent / "cloudswarm")
RUN_TIMEOUT_S = 150


def cli(env: dict, *args: str, stdin: str | None = None, timeout: float = 120, text=True):
    return subprocess.run(
        [CLI, *args],
        input=stdin,
        capture_output=True,
        text=text,
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
    store.apply(
        team.request_approval(sid, "lead", "ap-cli", "publish", "the blog post"), what="seed"
    )
    assert "ap-cli" in ok(cli(admin, "approvals", sid))
    approved = as_json(cli(admin, "--json", "approve", sid, "ap-cli", "--comment", "go"))
    assert approved["status"] == "approved"
    again = cli(admin, "reject", sid, "ap-cli")
    assert again.returncode == 1 and "already approved" in again.stderr
    # An external call's approval shows the call whole: server, tool and exact arguments.
    call = {"server": "repo", "tool": "create_pull_request", "arguments": {"head": "fix-greet"}}
    store.apply(
        team.request_approval(sid, "lead", "ap-mcp", "call repo__create_pull_request", "",
                              call=call),
        what="seed",
    )  # fmt: skip
    listed = ok(cli(admin, "approvals", sid))
    assert "repo__create_pull_request" in listed and "fix-greet" in listed
    shown = as_json(cli(admin, "--json", "approvals", sid))
    assert [a["call"] for a in shown["approvals"] if a["id"] == "ap-mcp"] == [call]
    decided = ok(cli(admin, "approve", sid, "ap-mcp"))
    assert "fix-greet" in decided and "next turn" in decided
    listed = ok(cli(admin, "templates"))
    assert "repo" in listed and "developer, reviewer" in listed

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


def test_steering_one_agent_from_the_command_line(admin):
    sid = ok(cli(admin, "run", "Plan a launch", "--usd", "1", "--detach")).strip()
    said = ok(cli(admin, "message", sid, "lead", "Stop: plan less", "--interrupt"))
    assert said.startswith("interrupted lead with ")
    kinds = [m["kind"] for m in as_json(cli(admin, "--json", "logs", sid))["events"]]
    assert "agent_interrupted" in kinds
    assert f"{sid}/lead paused" in ok(cli(admin, "pause", sid, "lead", "--reason", "look"))
    assert f"{sid}/lead idle" in ok(cli(admin, "resume", sid, "lead"))
    gone = cli(admin, "pause", sid, "ghost")
    assert gone.returncode == 1 and "ghost does not exist" in gone.stderr
    assert f"{sid}/lead stopped" in ok(cli(admin, "stop", sid, "lead"))
    assert "running" in ok(cli(admin, "status", sid))  # the swarm goes on


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


# -- hostile text ----------------------------------------------------------------------------------

# An agent id as an agent could choose it (a Firestore id holds anything but "/").
AID = "w[b]" + hostile.OSC_TITLE + hostile.BIDI[:1] + ":thumbs_up:"
# What a JSON rendering escapes anyway (quotes) is checked in the other commands.
UNQUOTED = [p for p in hostile.PIECES if '"' not in p]


def safe(result, *pieces: str, terminal: bool = False) -> str:
    """The command's whole output, checked: it ran, shows `pieces` literally, passes nothing
    hostile on. In terminal mode rich writes its own colours (ESC [ ... m), so only the
    sequences it never writes itself are refused there."""
    out = result.stdout + result.stderr
    forbidden = hostile.FORBIDDEN
    if terminal:
        forbidden = [b for b in forbidden if b != "\x1b"] + ["\x1b]", "\x1b[2J", "\x1b[31mred"]
    for bad in forbidden:
        assert bad not in out, f"{bad!r} reached the terminal:\n{out[:3000]!r}"
    for piece in pieces:
        assert piece in out, f"{piece!r} not shown:\n{out[:3000]}"
    return out


@pytest.fixture
def hostile_swarm(admin, project) -> str:
    """A swarm whose goal was typed hostile, and whose agents wrote hostile text everywhere."""
    sid = ok(cli(admin, "run", hostile.COMBO, "--detach")).strip()
    store = runtime.store()
    db = store.db
    ref = db.document(f"swarms/{sid}")
    ref.update({"summary": hostile.WITH_NUL + "\n" + hostile.LONG,
                "status_reason": hostile.WITH_NUL})  # fmt: skip
    agent = new_agent_doc(name=AID, role=Role.TEAMMATE, model="m", instructions="",
                          parent_id="lead", depth=1)  # fmt: skip
    ref.collection("agents").document(AID).set(
        firestore_fields({**agent, "activity": hostile.WITH_NUL})
    )
    ref.collection("agents").document("lead").update({"activity": hostile.LONG})
    events = ref.collection("events")
    events.add(
        firestore_fields(event_doc("note", hostile.WITH_NUL, "x") | {"summary": hostile.WITH_NUL})
    )
    events.add(firestore_fields(event_doc("note", "lead", "x") | {"summary": hostile.LONG}))
    for tid, title in (("t-combo", hostile.WITH_NUL), ("t-long", hostile.LONG)):
        rule = board.create_task(sid, "lead", tid, title=title, owner=AID, max_tasks=100)
        store.apply(rule, what="seed")
    rule = team.request_approval(sid, AID, "ap-hostile", hostile.COMBO, hostile.WITH_NUL)
    store.apply(rule, what="seed")
    journal = Journal(runtime.blobs(), runtime.settings().bucket("transcripts"))
    record = {"request": {"model": "m"}, "said": hostile.WITH_NUL, "long": hostile.LONG}
    journal.write_transcript(sid, "lead", 1, "t", 0, record)
    return sid


def test_every_command_shows_hostile_text_as_text(admin, hostile_swarm):
    sid = hostile_swarm
    safe(cli(admin, "status"), "[/]", "list[int]")  # the goal column, cut to 70 characters
    safe(cli(admin, "status", sid), hostile.GOAL, *hostile.PIECES, "… (+")  # cut outcome
    safe(cli(admin, "agents", sid), "w[b]:thumbs_up:", "[/]", "list[int]")
    safe(cli(admin, "tasks", sid), *hostile.PIECES, "(+99800 chars)")
    safe(cli(admin, "logs", sid), hostile.GOAL, *hostile.PIECES, "(+98000 chars)")
    safe(cli(admin, "approvals", sid), "[/]", "list[int]", "w[b]:thumbs_up:")
    transcript = safe(cli(admin, "transcript", sid, "lead"), *UNQUOTED)
    assert hostile.LONG in transcript  # a transcript is shown whole: it is JSON, not a cell
    safe(cli(admin, "message", sid, "lead", hostile.COMBO), "sent ")
    # The commands that print what a human typed, as it comes back from the API.
    unknown = cli(admin, "message", sid, AID, "hello")
    assert unknown.returncode in (0, 1)
    safe(unknown)
    key = ok(cli(admin, "keys", "create", "--name", "hostile-name", "--role", "viewer"))
    key_id = key.strip().split("_")[1]
    runtime.store().db.collection(KEYS).document(key_id).update({"name": hostile.WITH_NUL})
    safe(cli(admin, "keys", "list"), "[/]", "list[int]")
    ok(cli(admin, "keys", "revoke", key_id))
    safe(cli(admin, "kill", "--reason", hostile.COMBO), "ENGAGED", hostile.GOAL, *hostile.PIECES)
    safe(cli(admin, "kill-switch"), hostile.GOAL, *hostile.PIECES)
    safe(cli(admin, "release", "--reason", hostile.COMBO), "released")
    # An id the API does not know (the error texts themselves: tests/unit/test_cli_http.py).
    missing = cli(admin, "status", "nope[b]" + hostile.OSC_TITLE)
    assert missing.returncode == 1
    safe(missing, "error: ")
    # Following the feed to the end, then its final line.
    safe(cli(admin, "stop", sid), "killed")
    safe(cli(admin, "logs", "--follow", sid), hostile.GOAL, *hostile.PIECES)


def test_a_real_terminal_gets_no_escape_sequence_from_the_text(admin, hostile_swarm):
    # rich writes colours, links and live displays only to a terminal: make it believe it is one.
    term = {**admin, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    sid = hostile_swarm
    for args in (("status",), ("status", sid), ("logs", sid), ("tasks", sid), ("agents", sid)):
        safe(cli(term, *args), "[/]", terminal=True)


def test_run_shows_the_goal_as_typed(admin):
    # No function runs the swarm here: `run` follows its first events, then gives up.
    result = cli(admin, "run", hostile.TYPED, "--timeout", "1", "--interval", "0.2")
    assert result.returncode == 1 and "still running" in result.stderr
    safe(result, f"Swarm started: {hostile.TYPED}")
    started = cli(admin, "run", hostile.GOAL, "--timeout", "1", "--interval", "0.2")
    safe(started, f"Swarm started: {hostile.GOAL}")


def test_artifacts_are_listed_and_printed_byte_for_byte(admin, tmp_path):
    sid = seed_workspace(writer=AID)
    # The writer's name is hostile: shown as text, its sequences removed.
    safe(cli(admin, "artifacts", sid), "docs/plan.md", "out/chart.png", "w[b]:thumbs_up:")
    assert [a["path"] for a in as_json(cli(admin, "--json", "artifacts", sid))["artifacts"]] == [
        "docs/plan.md",
        "notes.txt",
        "out/chart.png",
    ]
    docs = as_json(cli(admin, "--json", "artifacts", sid, "--prefix", "docs/"))["artifacts"]
    assert [(a["path"], a["version"]) for a in docs] == [("docs/plan.md", 2)]
    # To a pipe: exactly the stored bytes, text or not, latest or a given version.
    for args, expected in (
        (("docs/plan.md",), PLAN_V2),
        (("docs/plan.md", "--version", "1"), PLAN_V1),
        (("out/chart.png",), PNG),
    ):
        got = cli(admin, "artifacts", "get", sid, *args, text=False)
        assert got.returncode == 0, got.stderr
        assert got.stdout == expected
    out = tmp_path / "chart.png"
    saved = cli(admin, "artifacts", "get", sid, "out/chart.png", "-o", str(out))
    assert saved.returncode == 0 and "wrote 265 bytes (v1)" in saved.stderr
    assert out.read_bytes() == PNG
    missing = cli(admin, "artifacts", "get", sid, "docs/plan.md", "--version", "9")
    assert missing.returncode == 1 and "no version 9 of docs/plan.md" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_terminal_gets_an_artifact_as_text_and_no_escape_sequence(admin):
    store = runtime.store()
    sid = seed_workspace()
    ws = Workspace(runtime.blobs(), runtime.settings().bucket("artifacts"))
    data = hostile.COMBO.encode()
    rule = board.write_artifact(sid, "lead", "hostile.md", ws.put(sid, data), len(data), None)
    assert not store.effect(sid, "tu-hostile", "write_artifact", rule).is_error
    term = {**admin, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    safe(cli(term, "artifacts", "get", sid, "hostile.md"), "[/]", terminal=True)
    binary = cli(term, "artifacts", "get", sid, "out/chart.png")
    assert binary.returncode == 1 and "save it with -o FILE" in binary.stderr
    # A pipe still gets the bytes as written: saving an artifact never changes it.
    raw = cli(admin, "artifacts", "get", sid, "hostile.md", text=False)
    assert raw.stdout == data
