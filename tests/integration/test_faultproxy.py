"""The outage relay on the real Firestore emulator, through the real client: cut, the client's
calls fail as with a service gone; restored, they succeed again and the data is all there."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import firestore

from tests.conftest import REPO_ROOT, port_is_free, wait_until
from tests.integration.conftest import INTEGRATION_PORT_OFFSET

RELAY_PORT = 8071 + INTEGRATION_PORT_OFFSET
NO_RETRY = Retry(predicate=lambda e: False)


@pytest.fixture
def relay(stack, tmp_path) -> Iterator[subprocess.Popen]:
    log = tmp_path / "relay.log"
    target = str(stack.config.ports["firestore"])
    argv = [sys.executable, "-m", "emulators.faultproxy", "--listen", str(RELAY_PORT)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*argv, "--to", target],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert wait_until(lambda: "relaying" in log.read_text(), timeout=20), log.read_text()
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert wait_until(lambda: port_is_free(RELAY_PORT), timeout=10)


def _said(proc: subprocess.Popen, sig: int, word: str, tmp_path) -> None:
    proc.send_signal(sig)
    assert wait_until(lambda: word in (tmp_path / "relay.log").read_text(), timeout=10)


def test_a_cut_takes_firestore_away_and_a_restore_gives_it_back_whole(
    relay, project, clean_firestore, monkeypatch, tmp_path
):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{RELAY_PORT}")
    db = firestore.Client(project=project)
    ref = db.collection("outage").document("one")
    ref.set({"n": 1})

    _said(relay, signal.SIGUSR1, "cut:", tmp_path)
    with pytest.raises((gexc.ServiceUnavailable, gexc.RetryError, gexc.DeadlineExceeded)):
        ref.set({"n": 2}, retry=NO_RETRY, timeout=5)
    assert port_is_free(RELAY_PORT), "a cut relay must not listen: clients are refused"

    _said(relay, signal.SIGUSR2, "restored:", tmp_path)
    assert not port_is_free(RELAY_PORT)
    # The client reconnects on its own; the write it retries lands, and nothing was lost.
    ref.update({"n": firestore.Increment(1)}, retry=Retry(deadline=30))
    assert ref.get().to_dict() == {"n": 2}
