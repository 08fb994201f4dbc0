"""Helpers for the API, trigger and CLI tests (this module holds no tests of its own).

The functions under test run as real `functions-framework` processes against the session's
emulator stack, started exactly as the stack's `full` profile would start them (same argv, same
environment, secrets injected as environment variables), each in its own process group, on the
stack's port for that function, so Pub/Sub push subscriptions reach them. They are stopped at
teardown.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import jwt
import requests

from cloudswarm.api.app import URLS
from cloudswarm.api.config import ApiConfig
from cloudswarm.api.keys import Keys
from cloudswarm.api.routes import ROUTE_TABLE
from cloudswarm.gcp import fs
from cloudswarm.gcp.keys import FirestoreKeys
from emulators import procs, services
from emulators.config import REPO_ROOT, StackConfig
from emulators.stack import Stack
from tests.conftest import listening_sockets, stack_environ, wait_until

READY_TIMEOUT_S = 60
PORT_WAIT_S = 30


@dataclass
class Function:
    name: str
    url: str
    proc: subprocess.Popen
    log_path: str

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"


def full_config(stack: Stack, environ: Mapping[str, str] | None = None) -> StackConfig:
    """The session stack's configuration, seen as the `full` profile (same ports, same run
    folder, so the same generated secrets)."""
    return StackConfig.resolve(
        stack.run_dir,
        0,
        "full",
        ports=dict(stack.config.ports),
        environ={**stack_environ(), **(environ or {})},
    )


@contextlib.contextmanager
def functions(
    stack: Stack, names: list[str], extra_env: Mapping[str, str] | None = None
) -> Iterator[dict[str, Function]]:
    """Start the named services of the `full` profile (functions, the model server) beside the
    session's emulators; stop them all on exit."""
    extra = dict(extra_env or {})
    cfg = full_config(stack, extra)
    specs = {s.name: s for s in services.build(cfg)}
    started: dict[str, Function] = {}
    try:
        for name in names:
            spec = specs[name]
            label = f"test-{name}"
            _wait_for_port(cfg.ports[name], name)
            proc = procs.spawn(label, spec.argv, {**spec.env, **extra}, stack.run_dir, REPO_ROOT)
            started[name] = Function(name, cfg.url(name), proc, str(stack.run_dir / f"{label}.log"))
        for name, fn in started.items():
            ready = _ready(fn, cfg.ports[name], services.probe(cfg, name))
            ok = wait_until(lambda r=ready, f=fn: r() or f.proc.poll() is not None, READY_TIMEOUT_S)
            if not ok or fn.proc.poll() is not None:
                raise RuntimeError(f"{name} did not start; its log ends:\n{fn.log_tail()}")
        yield started
    finally:
        procs.stop_groups(
            [f.proc.pid for f in started.values()], popens=[f.proc for f in started.values()]
        )
        for f in started.values():
            (stack.run_dir / f"test-{f.name}.pid").unlink(missing_ok=True)


def _wait_for_port(port: int, name: str) -> None:
    """A port in the ephemeral range (32768-60999 on Linux: where an offset of 40000 puts the
    stack) can be held for a moment as the local end of some outgoing connection."""
    if not wait_until(lambda: procs.port_free(port), PORT_WAIT_S):
        raise RuntimeError(
            f"port {port} for {name} stayed in use for {PORT_WAIT_S} s; if it lies in "
            "/proc/sys/net/ipv4/ip_local_port_range, choose a CLOUDSWARM_TEST_PORT_OFFSET that "
            "puts the stack below it; sockets on it:\n" + _sockets_on(port)
        )


def _sockets_on(port: int) -> str:
    try:
        out = subprocess.run(["ss", "-tanp"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "(ss unavailable)"
    return "\n".join(line for line in out.splitlines() if f":{port} " in line)


def _ready(fn: Function, port: int, probe):
    """Ready once the process group listens on its port and the probe answers.

    Probing a port nobody listens on yet can, in the ephemeral range (where a port offset may
    put it), connect the probe's socket to itself and then hold the very port the server is
    about to bind: so no connection is tried before the listener exists.
    """

    def check() -> bool:
        members = procs.group_members(fn.proc.pid)
        listening = any(p == port for _, _, p in listening_sockets(members))
        return listening and probe()

    return check


def signing_key(stack: Stack) -> bytes:
    return full_config(stack).secret_values()["jwt-signing-key"].encode()


def keys(project: str) -> Keys:
    return Keys(FirestoreKeys(fs.client(project)))


def new_key(project: str, role: str, name: str | None = None) -> tuple[str, str]:
    """(key id, key) of a fresh key written straight to Firestore."""
    return keys(project).create(name or f"test-{role}", role, actor="tests")


def mint(key: bytes, claims: dict, *, algorithm: str = "HS256", headers: dict | None = None):
    """A token signed by hand, for the tests that must be refused."""
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def claims_for(key_id: str, role: str, **over) -> dict:
    cfg, now = ApiConfig(), int(time.time())
    base = {
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "sub": key_id,
        "role": role,
        "name": "hand-made",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    return {**base, **over}


@dataclass
class Api:
    """A client of the API function that remembers which routes it exercised."""

    url: str
    http: requests.Session = field(default_factory=requests.Session)
    seen: set[int] = field(default_factory=set)

    def __post_init__(self):
        self.http.trust_env = False  # no proxy for 127.0.0.1

    def token(self, api_key: str) -> str:
        r = self.request("POST", "/api/auth/token", json={"api_key": api_key})
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def request(self, method: str, path: str, token: str | None = None, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = self.http.request(method, self.url + path, headers=headers, timeout=30, **kw)
        self._record(method, path.split("?")[0])
        return resp

    def _record(self, method: str, path: str) -> None:
        with contextlib.suppress(Exception):
            index, _ = URLS.bind("api").match(path, method)
            self.seen.add(index)

    def unseen(self) -> list[str]:
        return [f"{r.method} {r.path}" for i, r in enumerate(ROUTE_TABLE) if i not in self.seen]


def error_of(resp: requests.Response) -> dict:
    """The error object, after checking the one error format."""
    body = resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    return body["error"]


def webhook_config(**hooks) -> str:
    return json.dumps(hooks)
