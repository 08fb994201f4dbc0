"""The whole local stack for end-to-end tests: emulators, functions behind Pub/Sub push, and the
local model server. One stack per test module, so a module can give the functions its own
environment (chaos settings, short leases)."""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from cloudswarm import runtime, settings
from cloudswarm.gcp import fs
from emulators.stack import Stack
from tests.conftest import stack_environ, wait_until

# Below the kernel's ephemeral range (32768 and up), apart from the integration stack (10000).
E2E_PORT_OFFSET = int(os.environ.get("CLOUDSWARM_E2E_PORT_OFFSET", "22000"))


def reset_runtime() -> None:
    """Forget cached clients and settings so this process talks to the current stack."""
    settings.settings.cache_clear()
    fs.client.cache_clear()
    for name in ("store", "bus", "blobs", "scheduler", "model", "watch"):
        getattr(runtime, name).cache_clear()


@contextlib.contextmanager
def running_stack(
    run_dir: Path,
    function_env: Mapping[str, str],
    *,
    profile: str = "full",
    environ: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """The stack in ``run_dir``, with ``function_env`` in this process's environment (which the
    functions inherit) and no ANTHROPIC_API_KEY, this process's clients pointed at it; down,
    and the clients forgotten, on the way out."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in function_env.items():
            mp.setenv(key, value)
        mp.delenv("ANTHROPIC_API_KEY", raising=False)
        stack = Stack(
            run_dir=run_dir,
            port_offset=E2E_PORT_OFFSET,
            profile=profile,
            environ=dict(environ) if environ is not None else stack_environ(),
        )
        stack.up()
        try:
            for key, value in stack.env().items():
                mp.setenv(key, value)
            reset_runtime()
            yield stack
        finally:
            stack.down()
            reset_runtime()


@pytest.fixture(scope="module")
def full_stack(request, tmp_path_factory) -> Iterator[Stack]:
    """The `full` profile (or the module's STACK_PROFILE); a module sets FUNCTION_ENV for the
    functions' extra settings."""
    with running_stack(
        tmp_path_factory.mktemp("e2e-stack"),
        getattr(request.module, "FUNCTION_ENV", {}),
        profile=getattr(request.module, "STACK_PROFILE", "full"),
    ) as stack:
        yield stack


class ModelServer:
    """The local model server's control API."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _call(self, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method="POST" if data is not None else "GET",
            headers={"content-type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")

    def reset(self):
        return self._call("/_control/reset", {})

    def faults(self, **faults):
        return self._call("/_control/faults", faults)

    def requests(self) -> list[dict]:
        return self._call("/_control/requests")["requests"]

    def stats(self) -> dict:
        return self._call("/_control/stats")


@pytest.fixture
def model_server(full_stack) -> ModelServer:
    server = ModelServer(full_stack.env()["CLOUDSWARM_MODEL_URL"])
    server.reset()
    yield server
    server.reset()


def wait_for_status(sid: str, statuses: set[str], timeout: float = 180.0) -> dict:
    store = runtime.store()
    swarm = wait_until(
        lambda: (s := store.get_swarm(sid))["status"] in statuses and s, timeout=timeout, every=0.25
    )
    assert swarm, f"swarm {sid} did not reach {statuses}: {store.get_swarm(sid)}"
    return swarm
