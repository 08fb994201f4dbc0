"""Integration fixtures: one emulator stack for the whole session, on its own ports.

The stack runs on CLOUDSWARM_PORT_OFFSET=10000 in a temporary run folder, so it never collides
with a developer's `make dev` on the default ports.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest
from google.cloud import firestore

from cloudswarm import settings
from emulators.stack import Stack
from tests.conftest import stack_environ

# Several engineers (and CI) run tests at once: each picks its own offset.
INTEGRATION_PORT_OFFSET = int(os.environ.get("CLOUDSWARM_TEST_PORT_OFFSET") or 10000)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running `emulators` profile; its client env is set in os.environ meanwhile."""
    s = Stack(
        run_dir=tmp_path_factory.mktemp("stack"),
        port_offset=INTEGRATION_PORT_OFFSET,
        environ=stack_environ(),
    )
    s.up()
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in s.env().items():
                mp.setenv(key, value)
            # Settings are read once per process: read them again against this stack.
            settings.settings.cache_clear()
            yield s
        settings.settings.cache_clear()
    finally:
        s.down()


@pytest.fixture(scope="session")
def project(stack: Stack) -> str:
    return stack.config.settings.project


@pytest.fixture(scope="session")
def firestore_client(stack: Stack, project: str) -> firestore.Client:
    """A client of the session stack's Firestore (the emulator grants it admin rights)."""
    return firestore.Client(project=project)


@pytest.fixture
def clean_firestore(stack: Stack, project: str) -> None:
    """Start the test with an empty Firestore."""
    base = stack.config.url("firestore")
    url = f"{base}/emulator/v1/projects/{project}/databases/(default)/documents"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    # Generous: the emulator's first wipe, right after it starts, can take a while on a busy
    # machine (a slow answer is not a failure of the test).
    with opener.open(urllib.request.Request(url, method="DELETE"), timeout=60) as resp:
        assert resp.status == 200, f"wiping Firestore answered {resp.status}"
