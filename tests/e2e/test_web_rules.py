"""firestore.rules, tested through the web SDK against a Firestore emulator that enforces them;
and the UI's Vitest unit tests, so `make test` runs every web test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import REPO_ROOT, wait_until

WEB = REPO_ROOT / "web"
RULES = REPO_ROOT / "firestore.rules"
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with _opener.open(url, timeout=1) as resp:
            return resp.read(8).strip() == b"Ok"
    except OSError:
        return False


@pytest.fixture(scope="module")
def node_modules() -> None:
    lock, stamp = WEB / "package-lock.json", WEB / "node_modules" / ".package-lock.json"
    if not stamp.exists() or lock.stat().st_mtime > stamp.stat().st_mtime:
        subprocess.run(["make", "--no-print-directory", "web-setup"], cwd=REPO_ROOT, check=True)


@pytest.fixture(scope="module")
def rules_emulator(tmp_path_factory) -> Iterator[str]:
    """A lone Firestore emulator with firestore.rules, on a free port (its own process group)."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("rules") / "firestore.log").open("w")
    proc = subprocess.Popen(
        [
            "gcloud", "emulators", "firestore", "start",
            f"--host-port=127.0.0.1:{port}", f"--rules={RULES}",
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"},
    )  # fmt: skip
    try:
        if not wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), timeout=60, every=0.2):
            pytest.fail(f"the Firestore emulator did not answer on {port}; see {log.name}")
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _npx(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    t0 = time.monotonic()
    proc = subprocess.run(
        ["npx", "--no-install", *args],
        cwd=WEB, env={**os.environ, "CI": "true", **(env or {})},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    print(proc.stdout[-6000:], proc.stderr[-3000:], f"({time.monotonic() - t0:.1f} s)")
    return proc


def test_rules_anonymous_reads_nothing_and_no_client_writes(node_modules, rules_emulator):
    proc = _npx(
        ["vitest", "run", "--config", "vitest.rules.config.js"],
        {"FIRESTORE_EMULATOR_HOST": rules_emulator},
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout


def test_ui_unit_tests(node_modules):
    proc = _npx(["vitest", "run"])
    assert proc.returncode == 0, proc.stdout[-4000:]
