"""The bench's local stack, its clients, and the fixtures every figure seeds into it.

One stack for the whole run (ratios are measured within one run). The functions inherit this
process's environment, so the few settings the bench needs are set here before the stack starts:

- ``THREADS=128``: functions-framework serves a function from one gunicorn process with
  ``4 x cores`` threads (8 here). Cloud Functions scales out to ``max_instances`` (100 for
  agent_turn) instead; 128 threads let the one local process stand in for that.
- ``CLOUDSWARM_PUSH_CONCURRENCY=128``: the stack's pusher (emulators/pusher.py) delivers up to
  that many doorbells to agent_turn at once, enough for the largest size.
- loop guard and daily cap raised: the bench's agents repeat the same move on purpose, and a
  hundred agents each take an allowance out of the global daily cap.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"

FUNCTION_ENV = {
    "THREADS": "128",
    "CLOUDSWARM_PUSH_CONCURRENCY": "128",
    "CLOUDSWARM_MAX_TURNS_WITHOUT_PROGRESS": "1000000",
    "CLOUDSWARM_MAX_PAIR_MESSAGES": "1000000",
    "CLOUDSWARM_MAX_AGENTS": "1000",
    "CLOUDSWARM_DAILY_USD_CAP": "1000000",
}
SINK_TOPIC = "bench-sink"  # in-process turns ring here: nothing listens
HOP_TOPIC = "bench-hop"  # the Pub/Sub push hop measured alone
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def now() -> float:
    return time.time()


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.02, what: str = ""):
    """Poll until ``condition()`` is truthy and return it; raise TimeoutError with ``what``."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what or condition}")
        tick.wait(every)


class ModelControl:
    """The local model server's /_control API."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def call(self, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method="POST" if data is not None else "GET",
            headers={"content-type": "application/json"},
        )
        with _opener.open(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    def reset(self, scenario: str = "demo") -> None:
        self.call("/_control/reset", {})
        self.call("/_control/scenario", {"name": scenario})

    def faults(self, **faults) -> None:
        self.call("/_control/faults", faults)

    def scenario(self, name_or_path: str) -> None:
        self.call("/_control/scenario", {"name": str(name_or_path)})

    def requests(self, since: int = 0) -> list[dict]:
        return self.call(f"/_control/requests?since={since}&limit=0")["requests"]

    def stats(self) -> dict:
        return self.call("/_control/stats")


class TurnLog:
    """The ``turn <kind>: ...`` lines agent_turn writes to its log when a turn returns."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = path.stat().st_size if path.exists() else 0
        self._partial = b""
        self.turns: list[dict] = []

    def poll(self) -> list[dict]:
        """Lines written since the last poll (turn lines only), appended to ``self.turns``."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        new = []
        for raw in lines:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            msg = rec.get("message", "") if isinstance(rec, dict) else ""
            if msg.startswith("turn ") and rec.get("logger") == "cloudswarm.functions":
                rec["kind"] = msg[5:].split(":", 1)[0]
                rec["t"] = parse_time(rec["time"])
                new.append(rec)
        self.turns.extend(new)
        return new


def parse_time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class PushReceiver:
    """A bare HTTP endpoint for a push subscription: records when each message arrived."""

    def __init__(self):
        self.arrivals: dict[str, float] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                at = now()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    attrs = json.loads(body)["message"].get("attributes") or {}
                except (ValueError, KeyError, TypeError):
                    attrs = {}
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver.event:
                    receiver.arrivals[attrs.get("probe", "")] = at
                    receiver.event.notify_all()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.1,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def wait(self, probe: str, timeout: float = 10.0) -> float:
        with self.event:
            ok = self.event.wait_for(lambda: probe in self.arrivals, timeout)
        if not ok:
            raise TimeoutError(f"push {probe} did not arrive")
        return self.arrivals.pop(probe)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Env:
    """The stack for one bench run, plus the clients the figures share."""

    def __init__(self, run_dir: Path, say: Callable[[str], None] = print, attach: bool = False):
        self.run_dir = Path(run_dir)
        self.say = say
        self.attach = attach  # use a stack already running in run_dir (started with FUNCTION_ENV)
        self.stack = None
        self.receiver: PushReceiver | None = None
        self.writes_dir = self.run_dir / "doc-writes"

    def __enter__(self) -> Env:
        from emulators.stack import Stack

        os.environ.update(FUNCTION_ENV)
        # Every function process counts its writes by document (bench/probe/sitecustomize.py);
        # a stack attached to was started with or without the probe: the folder says which.
        self.writes_dir = self.run_dir / "doc-writes"
        if not self.attach:
            import shutil

            shutil.rmtree(self.writes_dir, ignore_errors=True)
            probe = str(BENCH_DIR / "probe")
            os.environ["CLOUDSWARM_BENCH_WRITES"] = str(self.writes_dir)
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (probe, os.environ.get("PYTHONPATH", "")) if p
            )
        # The bench always talks to the local model server, never to a key in the environment.
        os.environ.pop("ANTHROPIC_API_KEY", None)
        environ = {k: v for k, v in os.environ.items() if k != "CLOUDSWARM_RUN_DIR"}
        self.stack = Stack(run_dir=self.run_dir, profile="full", environ=environ, say=self.say)
        if self.attach:
            if not self.stack.running():
                raise RuntimeError(f"no stack runs in {self.run_dir} to attach to")
        else:
            self.stack.up()
        try:
            self._connect()
        except BaseException:
            if not self.attach:
                self.stack.down()
            raise
        return self

    def push_stats(self) -> dict:
        """Per push subscription: what the stack's pusher delivered and failed so far."""
        ports = json.loads((self.run_dir / "stack.json").read_text())["ports"]
        with _opener.open(f"http://127.0.0.1:{ports['pusher']}/stats", timeout=10) as resp:
            return json.loads(resp.read())

    def doorbell_push_failed(self) -> int:
        return self.push_stats()[self.settings.topic("agent-doorbell-push")]["failed"]

    def client_env(self) -> dict[str, str]:
        """The stack's client environment, as its run folder records it."""
        lines = (self.run_dir / "env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def _connect(self) -> None:
        env = self.client_env()
        os.environ.update(env)
        os.environ["ANTHROPIC_BASE_URL"] = env["CLOUDSWARM_MODEL_URL"]
        os.environ["ANTHROPIC_API_KEY"] = "local-dev-key"
        reset_runtime()
        from cloudswarm import runtime

        self.store = runtime.store()
        self.settings = runtime.settings()
        self.model = ModelControl(env["CLOUDSWARM_MODEL_URL"])
        self.turn_log = TurnLog(self.run_dir / "agent_turn.log")
        self.receiver = PushReceiver()
        self._topics()

    def _topics(self) -> None:
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import pubsub_v1

        project = self.settings.project
        pub = pubsub_v1.PublisherClient()
        sub = pubsub_v1.SubscriberClient()
        for topic in (SINK_TOPIC, HOP_TOPIC):
            with contextlib.suppress(AlreadyExists):
                pub.create_topic(name=pub.topic_path(project, topic))
        name = sub.subscription_path(project, HOP_TOPIC + "-push")
        push = {"push_endpoint": self.receiver.url}
        try:
            sub.create_subscription(
                name=name, topic=pub.topic_path(project, HOP_TOPIC), push_config=push
            )
        except AlreadyExists:  # a stack reused (--attach): point it at this run's receiver
            sub.modify_push_config(subscription=name, push_config=push)

    def __exit__(self, *exc) -> None:
        if self.receiver:
            self.receiver.close()
        if self.stack and not self.attach:
            self.stack.down()
        reset_runtime()


def reset_runtime() -> None:
    """Forget cached clients and settings so this process talks to the current stack."""
    from cloudswarm import runtime, settings
    from cloudswarm.gcp import fs

    settings.settings.cache_clear()
    fs.client.cache_clear()
    for name in dir(runtime):
        fn = getattr(runtime, name)
        if callable(getattr(fn, "cache_clear", None)):
            fn.cache_clear()
