"""How each service of the stack is started and how we know it is ready."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloudswarm import names
from emulators.config import FUNCTION_SIGNATURES, RELAYS, REPO_ROOT, StackConfig

RULES_FILE = REPO_ROOT / "firestore.rules"
FUNCTIONS_SOURCE = REPO_ROOT / "functions" / "main.py"
EMULATORS_DIR = Path(__file__).resolve().parent
TASKS_LAUNCHER = EMULATORS_DIR / "tasks_emulator.py"
TASKS_PYTHON = REPO_ROOT / ".venv-tasks" / "bin" / "python"

# No proxy, ever: a developer's http_proxy must not swallow requests to 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(url: str, expect: bytes | None = None) -> bool:
    """Ready when `url` answers; with `expect`, only when the body is exactly that."""
    try:
        with _opener.open(url, timeout=1) as resp:
            return expect is None or resp.read(256).strip() == expect
    except urllib.error.HTTPError:
        # Any HTTP answer (a 404 or 405 from a function) proves the server is serving.
        return expect is None
    except (OSError, ValueError):
        return False


def tcp_probe(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def probe(cfg: StackConfig, name: str) -> Callable[[], bool]:
    """How to tell that service `name` of this stack is ready."""
    url = cfg.url(name)
    if name in ("firestore", "pubsub"):
        return lambda: http_probe(url + "/", b"Ok")
    if name == "storage":
        return lambda: http_probe(url + "/", b"OK")
    if name == "tasks" or name in RELAYS:
        # gRPC only, or bytes relayed: an accepted connection is the signal; the bootstrap's
        # (and the functions') real calls through the clients then prove the rest.
        return lambda: tcp_probe(cfg.ports[name])
    if name == "secrets":
        return lambda: http_probe(url + "/drongo/health")
    if name in ("model", "mcp"):
        return lambda: http_probe(url + "/_control/health")
    if name in ("scheduler", "pusher"):
        return lambda: http_probe(url + "/", b"OK")
    if name == "web":
        return lambda: http_probe(url + "/healthz")
    # A function: GET /robots.txt is answered by the framework itself, never by the function.
    return lambda: http_probe(url + "/robots.txt")


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    env: dict[str, str] = field(repr=False)  # holds secret values: never in a repr
    probe: Callable[[], bool]
    # What must exist before starting (so a missing piece fails before anything runs).
    needs: tuple[Path, ...] = ()
    # Folders the service writes into, made before it starts.
    makes: tuple[Path, ...] = ()


def _venv_tool(name: str) -> str:
    # The tools live beside the interpreter running the stack (the project venv).
    return str(Path(sys.executable).parent / name)


def build(cfg: StackConfig) -> list[Service]:
    """The processes of the stack's profile, in start order."""
    return [_service(cfg, name) for name in cfg.services]


def _service(cfg: StackConfig, name: str) -> Service:
    port = str(cfg.ports[name])
    marker_key, _, marker_value = cfg.marker.partition("=")
    env = {**os.environ, marker_key: marker_value, "PYTHONUNBUFFERED": "1"}
    gcloud = shutil.which("gcloud") or "gcloud"

    def service(
        argv: list[str], needs: tuple[Path, ...], makes: tuple[Path, ...] = (), env=env
    ) -> Service:
        return Service(name, argv, env, probe(cfg, name), needs, makes)

    if name == "firestore":
        env["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1"
        argv = [gcloud, "emulators", "firestore", "start"]
        return service(
            [*argv, f"--host-port={cfg.hostport(name)}", f"--rules={RULES_FILE}"],
            (Path(gcloud), RULES_FILE),
        )
    if name == "pubsub":
        env["CLOUDSDK_CORE_DISABLE_PROMPTS"] = "1"
        data_dir = cfg.run_dir / "pubsub-data"  # its own, so two stacks never share gcloud's
        argv = [gcloud, "beta", "emulators", "pubsub", "start", f"--data-dir={data_dir}"]
        return service(
            [*argv, f"--host-port={cfg.hostport(name)}", f"--project={cfg.settings.project}"],
            (Path(gcloud),),
            (data_dir,),
        )
    if name == "storage":
        # gcp-storage-emulator, in memory, less its per-write catalogue (storage_emulator.py).
        argv = [sys.executable, "-m", "emulators.storage_emulator", f"--port={port}"]
        return service(argv, (EMULATORS_DIR / "storage_emulator.py",))
    if name == "tasks":
        argv = [str(TASKS_PYTHON), str(TASKS_LAUNCHER), f"--port={port}"]
        return service([*argv, f"--max-attempts={_max_task_attempts()}"], (TASKS_PYTHON,))
    if name == "secrets":
        tool = _venv_tool("drongo")
        return service([tool, "server", "--host", "127.0.0.1", "--port", port], (Path(tool),))
    if name == "model":
        argv = [sys.executable, "-m", "emulators.model_server", "--port", port]
        return service(argv, (_model_server(),))
    if name == "mcp":
        argv = [sys.executable, "-m", "emulators.mcp_server", "--port", port]
        token = {"CLOUDSWARM_MCP_SERVER_TOKEN": cfg.mcp_token()}
        return service(argv, (EMULATORS_DIR / "mcp_server" / "server.py",), env={**env, **token})
    if name == "web":
        argv = [sys.executable, "-m", "emulators.web_server", "--port", port]
        return service(argv, (EMULATORS_DIR / "web_server.py",), env={**env, **cfg.client_env()})
    if name == "scheduler":
        sweep, fire = cfg.url("task_dispatch") + "/sweep", cfg.url("task_dispatch") + "/schedule"
        argv = [sys.executable, "-m", "emulators.scheduler", "--port", port, "--url", sweep]
        argv += ["--schedule-url", fire]
        # The client env names the prefix, which the jobs' names carry.
        env = {**env, **cfg.client_env()}
        return service(argv, (EMULATORS_DIR / "scheduler.py",), env=env)
    if name == "pusher":
        argv = [sys.executable, "-m", "emulators.pusher", "--port", port]
        argv += [f"--concurrency={cfg.push_concurrency}"]
        for logical, spec in names.resources()["subscriptions"].items():
            if "push_function" in spec:
                argv += ["--route", f"{logical}={cfg.url(spec['push_function'])}/"]
        return service(argv, (EMULATORS_DIR / "pusher.py",), env={**env, **cfg.relayed_env()})
    if name in RELAYS:
        argv = [sys.executable, "-m", "emulators.faultproxy", "--listen", port]
        argv += ["--to", str(cfg.ports[RELAYS[name]])]
        return service(argv, (EMULATORS_DIR / "faultproxy.py",))
    argv = [_venv_tool("functions-framework"), f"--source={FUNCTIONS_SOURCE}", f"--target={name}"]
    argv += [f"--signature-type={FUNCTION_SIGNATURES[name]}", "--host=127.0.0.1", f"--port={port}"]
    fenv = {**cfg.function_env(name), marker_key: marker_value}
    # In GCP each instance serves one request and more instances start; locally one process
    # stands in for them all, so it needs a thread per concurrent turn (a turn mostly waits on
    # the model and the emulators).
    fenv.setdefault("THREADS", "128")
    return service(argv, (FUNCTIONS_SOURCE,), env=fenv)


def _model_server() -> Path:
    # `python -m emulators.model_server` runs either a module or a package's __main__.
    package = EMULATORS_DIR / "model_server"
    return package / "__main__.py" if package.is_dir() else EMULATORS_DIR / "model_server.py"


def _max_task_attempts() -> int:
    # The emulator has one global retry cap instead of per-queue retry config: use the largest.
    return max(q.get("max_attempts", 100) for q in names.resources()["queues"].values())
