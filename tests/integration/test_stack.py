"""The local stack manager: lifecycle, isolation, and what the bootstrap creates.

Lifecycle tests start their own stack on offset 20000, or CLOUDSWARM_STACK_TEST_PORT_OFFSET (beside
the session stack on 10000); bootstrap tests look at the session stack through the real clients.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import pubsub_v1, secretmanager, storage, tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from cloudswarm import names
from cloudswarm.errors import ConfigError
from emulators import bootstrap, procs
from emulators.config import PROFILES
from emulators.stack import PortInUse, Stack
from tests.conftest import (
    REPO_ROOT,
    is_loopback,
    listening_sockets,
    pids_with_env,
    port_is_free,
    stack_environ,
    wait_until,
)

# Several engineers (and CI) run tests at once: each picks its own offset.
OWN_OFFSET = int(os.environ.get("CLOUDSWARM_STACK_TEST_PORT_OFFSET") or 20000)
TERMINAL = {"completed", "failed", "killed", "paused"}
RESOURCES = names.resources()


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A second, private stack; stopped at the end whatever the test did."""
    s = Stack(run_dir=tmp_path / "run", port_offset=OWN_OFFSET, environ=stack_environ())
    yield s
    s.down()


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m emulators.stack ...` against `stack`'s run folder and ports."""
    env = {
        **stack_environ(),
        "CLOUDSWARM_RUN_DIR": str(stack.run_dir),
        "CLOUDSWARM_PORT_OFFSET": str(OWN_OFFSET),
    }
    return subprocess.run(
        [sys.executable, "-m", "emulators.stack", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _service_ports(stack: Stack) -> dict[str, int]:
    return {n: stack.config.ports[n] for n in stack.config.services}


# --- lifecycle --------------------------------------------------------------------------------


def test_up_then_down_leaves_no_process_and_no_port(own_stack: Stack) -> None:
    assert own_stack.up()
    groups = procs.read_pid_files(own_stack.run_dir)
    assert set(groups) == set(PROFILES["emulators"])
    for name, pgid in groups.items():
        assert procs.group_members(pgid), f"{name} has no live process"
    marked = pids_with_env(own_stack.config.marker)
    listening = listening_sockets(marked)
    ports = _service_ports(own_stack)
    assert set(ports.values()) <= {port for _, _, port in listening}
    outside = [(pid, addr, port) for pid, addr, port in listening if not is_loopback(addr)]
    assert not outside, f"listening beyond loopback: {outside}"

    assert sorted(own_stack.down()) == sorted(groups)

    for name, pgid in groups.items():
        assert not procs.group_members(pgid), f"{name}'s process group survived down"
    assert not pids_with_env(own_stack.config.marker)
    assert [n for n, p in ports.items() if not port_is_free(p)] == []
    assert not list(own_stack.run_dir.glob("*.pid"))
    assert not (own_stack.run_dir / "env").exists()


def test_up_twice_says_already_running_and_starts_nothing(own_stack: Stack) -> None:
    assert own_stack.up()
    pid_files = procs.read_pid_files(own_stack.run_dir)
    processes = pids_with_env(own_stack.config.marker)

    again = cli(own_stack, "up")

    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert procs.read_pid_files(own_stack.run_dir) == pid_files
    assert pids_with_env(own_stack.config.marker) - processes == set()
    status = cli(own_stack, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("ready") == len(PROFILES["emulators"])


def test_taken_port_is_named_and_nothing_starts(own_stack: Stack) -> None:
    port = own_stack.config.ports["pubsub"]
    with socket.socket() as blocker:
        # A connection of an earlier test's stack may linger on the port in TIME_WAIT: no
        # obstacle to a listener (the stack's own port check ignores it too).
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with pytest.raises(PortInUse, match=rf"port {port} \(pubsub\)"):
            own_stack.up()
        result = cli(own_stack, "up")
    assert result.returncode == 1
    assert f"port {port} (pubsub) is already in use" in result.stderr
    assert not list(own_stack.run_dir.glob("*.pid"))
    assert not pids_with_env(own_stack.config.marker)


def test_ports_in_the_ephemeral_range_are_refused_before_anything_starts(tmp_path: Path) -> None:
    low, _ = procs.ephemeral_range()
    s = Stack(run_dir=tmp_path / "run", port_offset=low - 8000, environ=stack_environ())
    try:
        with pytest.raises(ConfigError, match=rf"ephemeral port range {low}-\d+.* below {low}"):
            s.up()
        assert not list(s.run_dir.glob("*.pid"))
        assert not pids_with_env(s.config.marker)
    finally:
        s.down()


def _own_env(stack: Stack) -> dict[str, str]:
    env = {
        **stack_environ(),
        "CLOUDSWARM_RUN_DIR": str(stack.run_dir),
        "CLOUDSWARM_PORT_OFFSET": str(OWN_OFFSET),
    }
    env.pop("ANTHROPIC_API_KEY", None)  # the local model server plays the demo
    return env


def _call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_dev_serves_the_ui_runs_a_swarm_started_from_it_and_stops_everything(
    tmp_path: Path,
) -> None:
    stack = Stack(
        run_dir=tmp_path / "run", port_offset=OWN_OFFSET, profile="full", environ=stack_environ()
    )
    # `make dev` builds the UI (`make web`) before it starts the stack; so does this test, which
    # must not depend on a web/dist left by an earlier build (CI's checkout has none).
    subprocess.run(["make", "--no-print-directory", "web"], cwd=REPO_ROOT, check=True)
    dev = subprocess.Popen(
        [sys.executable, "-m", "emulators.stack", "dev"],
        cwd=REPO_ROOT,
        env=_own_env(stack),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    said: list[str] = []
    try:
        assert dev.stdout is not None
        # `dev` says so once the stack is up; reading its output is the event to wait on.
        for line in dev.stdout:
            said.append(line)
            if "Ctrl-C stops it" in line:
                break
        assert set(stack.running()) == set(PROFILES["full"]), "".join(said)
        web = stack.config.url("web")
        status, page = _call(web + "/")
        assert status == 200 and b"<html" in page.lower()
        # Started as the UI starts one: through /api on the web server, with the admin key.
        key = (stack.run_dir / "admin-key").read_text().strip()
        status, raw = _call(web + "/api/auth/token", {"api_key": key})
        assert status == 200, raw
        token = json.loads(raw)["token"]
        status, raw = _call(web + "/api/swarms", {"goal": "demo", "budget": {"usd": 5}}, token)
        assert status == 201, raw
        sid = json.loads(raw)["swarm_id"]

        def finished() -> dict | None:
            code, body = _call(f"{web}/api/swarms/{sid}", token=token)
            swarm = json.loads(body) if code == 200 else {}
            return swarm if swarm.get("status") in TERMINAL else None

        swarm = wait_until(finished, timeout=300, every=0.5)
        assert swarm and swarm["status"] == "completed", swarm
        # The turns came through the stack's pusher, not the emulator's own push.
        _, raw = _call(stack.config.url("pusher") + "/stats")
        assert (
            json.loads(raw)[names.scoped(stack.config.settings.prefix, "agent-doorbell-push")][
                "delivered"
            ]
            > 0
        )

        os.killpg(dev.pid, signal.SIGTERM)
        dev.communicate(timeout=120)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        stack.down()  # whatever a failed dev left behind
    assert dev.returncode == 0
    assert not pids_with_env(stack.config.marker)
    assert [n for n, p in _service_ports(stack).items() if not port_is_free(p)] == []


def test_demo_on_a_partial_stack_says_what_is_missing_and_what_to_run(own_stack: Stack) -> None:
    up = cli(own_stack, "up", "--profile", "emulators")
    assert up.returncode == 0, up.stderr
    assert "stack (emulators profile: firestore, pubsub" in up.stdout
    processes = pids_with_env(own_stack.config.marker)

    demo = subprocess.run(
        [sys.executable, "-m", "emulators.demo"],
        cwd=REPO_ROOT,
        env=_own_env(own_stack),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert demo.returncode == 2, demo.stdout + demo.stderr
    for name in ("model", "agent_turn", "api", "pusher", "scheduler", "web"):
        assert f"{name} (not running)" in demo.stderr
    assert "firestore (" not in demo.stderr
    assert "make stack-down" in demo.stderr and "make stack-up" in demo.stderr
    assert "swarm" not in demo.stdout  # nothing was started on the partial stack
    assert pids_with_env(own_stack.config.marker) == processes


def test_down_without_a_stack_is_harmless(own_stack: Stack) -> None:
    result = cli(own_stack, "down")
    assert result.returncode == 0
    assert "not running" in result.stdout


# --- the session stack and its bootstrap ------------------------------------------------------


def test_env_file_holds_the_client_env(stack: Stack) -> None:
    lines = (stack.run_dir / "env").read_text().splitlines()
    assert dict(line.split("=", 1) for line in lines) == stack.env()
    assert stack.env()["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")


def test_topics_and_subscriptions_exist_with_dead_letter_policy(stack: Stack, project: str) -> None:
    s = stack.config.settings
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topics = {t.name for t in publisher.list_topics(project=f"projects/{project}")}
    assert {publisher.topic_path(project, s.topic(t)) for t in RESOURCES["topics"]} <= topics
    for logical, spec in RESOURCES["subscriptions"].items():
        path = subscriber.subscription_path(project, names.scoped(s.prefix, logical))
        sub = subscriber.get_subscription(subscription=path)
        assert sub.topic == publisher.topic_path(project, s.topic(spec["topic"]))
        if "push_function" in spec:
            port = stack.config.ports[spec["push_function"]]
            assert sub.push_config.push_endpoint == f"http://127.0.0.1:{port}/"
            assert sub.ack_deadline_seconds == spec["ack_deadline_s"]
        if "dead_letter" in spec:
            policy = sub.dead_letter_policy
            assert policy.dead_letter_topic == publisher.topic_path(
                project, s.topic(spec["dead_letter"])
            )
            assert policy.max_delivery_attempts == spec["max_delivery_attempts"]


def test_undeliverable_push_lands_on_the_dead_letter_topic(stack: Stack, project: str) -> None:
    # No function listens in the `emulators` profile, so every push fails.
    s = stack.config.settings
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    marker = uuid.uuid4().hex
    publisher.publish(
        publisher.topic_path(project, s.topic("swarm-requests")), b"{}", test_marker=marker
    ).result(timeout=10)
    dead = subscriber.subscription_path(project, names.scoped(s.prefix, "swarm-requests-dead-pull"))

    def arrived() -> bool:
        resp = subscriber.pull(subscription=dead, max_messages=50, timeout=5)
        if resp.received_messages:
            subscriber.acknowledge(
                subscription=dead, ack_ids=[m.ack_id for m in resp.received_messages]
            )
        markers = [m.message.attributes.get("test_marker") for m in resp.received_messages]
        return marker in markers

    assert wait_until(arrived, timeout=60, every=0.2), "message never reached the dead-letter topic"


def test_buckets_exist(stack: Stack, project: str) -> None:
    client = storage.Client(project=project, credentials=AnonymousCredentials())
    for logical in RESOURCES["buckets"]:
        assert client.get_bucket(stack.config.settings.bucket(logical)).exists()


def test_queue_exists(stack: Stack) -> None:
    s = stack.config.settings
    channel = grpc.insecure_channel(os.environ["CLOUDSWARM_TASKS_EMULATOR_HOST"])
    client = tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    for logical in RESOURCES["queues"]:
        queue = client.get_queue(name=client.queue_path(s.project, s.region, s.queue(logical)))
        assert queue.state == tasks_v2.Queue.State.RUNNING
    channel.close()


def test_secrets_exist_and_the_signing_key_is_kept_per_run_folder(stack: Stack) -> None:
    s = stack.config.settings
    client = secretmanager.SecretManagerServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": os.environ["CLOUDSWARM_SECRETS_EMULATOR_HOST"]},
    )
    for logical in RESOURCES["secrets"]:
        client.get_secret(name=client.secret_path(s.project, s.secret(logical)))
    latest = client.secret_path(s.project, s.secret("jwt-signing-key")) + "/versions/latest"
    value = client.access_secret_version(name=latest).payload.data
    kept = (stack.run_dir / "jwt-signing-key.secret").read_bytes().strip()
    # compare_digest and a fixed message: a failure must not print the key.
    assert len(value) >= 32 and hmac.compare_digest(value, kept), "signing key mismatch"
    assert (stack.run_dir / "jwt-signing-key.secret").stat().st_mode & 0o077 == 0


def test_bootstrap_is_idempotent(stack: Stack) -> None:
    for step in bootstrap.STEPS.values():
        step(stack.config)


def _unsigned_id_token(project: str) -> str:
    # The Firestore emulator accepts unsigned tokens: enough to be "signed in" for the rules.
    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    claims = {
        "sub": "u1",
        "user_id": "u1",
        "role": "viewer",
        "aud": project,
        "iss": f"https://securetoken.google.com/{project}",
        "iat": 1,
        "auth_time": 1,
        "exp": 2**31,
        "firebase": {"sign_in_provider": "custom"},
    }
    return part({"alg": "none", "typ": "JWT"}) + "." + part(claims) + "."


def _rest(url: str, method: str = "GET", token: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"fields": {"a": {"stringValue": "b"}}}).encode() if method != "GET" else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_firestore_rules_are_loaded(stack: Stack, project: str, clean_firestore: None) -> None:
    # Without --rules the emulator lets everyone in; the web UI's rule tests cover the details.
    base = stack.config.url("firestore")
    doc = f"{base}/v1/projects/{project}/databases/(default)/documents/swarms/s1"
    token = _unsigned_id_token(project)
    assert _rest(doc) == 403
    assert _rest(doc, token=token) == 404  # allowed, and simply not there
    assert _rest(doc, "PATCH", token=token) == 403
    assert _rest(doc, "PATCH") == 403


def test_stack_up_then_demo_runs_the_demo_and_the_repository_team_on_it(
    own_stack: Stack,
) -> None:
    # README: `make stack-up` then `make demo` uses the running stack; `make demo TEAM=repo`
    # runs the repository team, unattended (CI=true) approving through the API as a named human,
    # and prints the pull request it opened.
    subprocess.run(["make", "--no-print-directory", "web"], cwd=REPO_ROOT, check=True)
    up = cli(own_stack, "up")
    assert up.returncode == 0, up.stderr
    env = {**_own_env(own_stack), "CI": "true"}

    def demo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "emulators.demo", *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )

    plain = demo()
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert f"using the stack running in {own_stack.run_dir}" in plain.stdout
    assert re.search(r"swarm s-\w+: completed", plain.stdout), plain.stdout
    assert re.search(r"\[completed\] .*tasks 6/6 done", plain.stdout), plain.stdout

    repo = demo("--team", "repo")
    assert repo.returncode == 0, repo.stdout + repo.stderr
    said = repo.stdout
    assert "waits for approval" in said, said
    assert "approved through the API by demo-approver (unattended: CI=true)" in said, said
    assert re.search(r"swarm s-\w+: completed", said), said
    assert re.search(r"\[completed\] .*tasks (\d+)/\1 done", said), said  # every task done
    assert re.search(r"^pull request #\d+: .+ \(\S+ -> \S+\)$", said, re.M), said
    # The stack it found is still whole: the demo leaves a stack it did not start running.
    assert set(own_stack.running()) == set(PROFILES["full"])
