"""What one local stack is: its run folder, profile, ports and names. Pure data, no processes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cloudswarm import names
from cloudswarm.errors import ConfigError
from cloudswarm.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_PROJECT = "cloudswarm-local"
LOCAL_MODEL_KEY = "local-dev-key"

# The ports in docs/architecture.md. CLOUDSWARM_PORT_OFFSET shifts them all, so a second stack
# (tests) can run beside a developer's `make dev`.
DEFAULT_PORTS: dict[str, int] = {
    "firestore": 8081,
    "pubsub": 8085,
    "storage": 9023,
    "tasks": 8123,
    "secrets": 9095,
    "model": 8090,
    "agent_turn": 8091,
    "swarm_trigger": 8092,
    "task_dispatch": 8093,
    "api": 8094,
    "budget_guard": 8095,
    "scheduler": 8096,
    "pusher": 8097,
    "mcp": 8098,  # the local MCP server (a repository and issue tracker): emulators/mcp_server
    "web": 8080,
    "firestore_relay": 8071,
    "storage_relay": 8073,
    "pubsub_relay": 8075,
}
EMULATORS = ("firestore", "pubsub", "storage", "tasks", "secrets")
FUNCTION_SIGNATURES = {
    "agent_turn": "cloudevent",
    "swarm_trigger": "cloudevent",
    "task_dispatch": "http",
    "api": "http",
    "budget_guard": "cloudevent",
}
# "full" is the whole stack (`make dev`, `make demo`). "emulators" has no functions, so its push
# subscriptions stay the emulator's own push (to endpoints nothing listens on).
# Relays an outage test can cut (emulators/faultproxy.py), each in front of one emulator.
RELAYS = {"firestore_relay": "firestore", "pubsub_relay": "pubsub", "storage_relay": "storage"}
PROFILES: dict[str, tuple[str, ...]] = {
    "emulators": EMULATORS,
    "full": (*EMULATORS, "model", "mcp", *FUNCTION_SIGNATURES, "pusher", "scheduler", "web"),
    # The whole stack with the functions and the pusher reaching Firestore, Pub/Sub and Cloud
    # Storage through relays, so a test can take one of them away (Stack.outage) and give it
    # back with its data. The test process and the bootstrap talk to the emulators directly.
    "outage": (
        *EMULATORS,
        *RELAYS,
        "model",
        "mcp",
        *FUNCTION_SIGNATURES,
        "pusher",
        "scheduler",
        "web",
    ),
}
PUSH_CONCURRENCY_VAR = "CLOUDSWARM_PUSH_CONCURRENCY"
# Every agent of the demo (4) and of the large scenario (10) at once, with room to spare.
DEFAULT_PUSH_CONCURRENCY = 16
# Secrets a developer should not have to invent: a random value is kept per run folder.
GENERATED_SECRETS = frozenset({"jwt-signing-key"})
# The local MCP server's bearer token: generated per run folder, handed to the server, and kept
# in the Secret Manager emulator under this name, which a swarm's tools.mcp[].token_secret names.
LOCAL_MCP_SECRET = "mcp-local-repo-token"


def port_env_var(service: str) -> str:
    return f"CLOUDSWARM_{service.upper()}_PORT"


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a whole number: set it like {key}=10000") from None


def resolve_ports(
    env: Mapping[str, str], offset: int | None = None, overrides: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Default + offset, then CLOUDSWARM_<SERVICE>_PORT, then explicit overrides."""
    offset = _int(env, "CLOUDSWARM_PORT_OFFSET", 0) if offset is None else offset
    ports = {name: port + offset for name, port in DEFAULT_PORTS.items()}
    for name in ports:
        ports[name] = _int(env, port_env_var(name), ports[name])
    ports.update(overrides or {})
    for name, port in ports.items():
        if not 1024 <= port <= 65535:
            raise ConfigError(
                f"port {port} for {name} is outside 1024-65535: "
                "lower CLOUDSWARM_PORT_OFFSET or set " + port_env_var(name)
            )
    clashes = {p for p in ports.values() if list(ports.values()).count(p) > 1}
    if clashes:
        raise ConfigError(f"ports {sorted(clashes)} are given to more than one service")
    return ports


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines, `#` comments, optional `export ` and quotes: the common .env subset.

    Parsed here rather than with python-dotenv, which the project venv does not carry.
    """
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class StackConfig:
    run_dir: Path
    profile: str
    ports: Mapping[str, int]
    settings: Settings
    # The user's environment merged over the repo's .env: where secret values come from.
    user_env: Mapping[str, str] = field(repr=False)

    @classmethod
    def resolve(
        cls,
        run_dir: Path | str | None = None,
        port_offset: int | None = None,
        profile: str = "emulators",
        ports: Mapping[str, int] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> StackConfig:
        """`environ` replaces os.environ *and* the repo's .env (tests want neither)."""
        env = dict(os.environ if environ is None else environ)
        if profile not in PROFILES:
            raise ConfigError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
        run = Path(run_dir or env.get("CLOUDSWARM_RUN_DIR") or REPO_ROOT / ".run")
        env.setdefault("GOOGLE_CLOUD_PROJECT", LOCAL_PROJECT)
        dotenv = read_dotenv(REPO_ROOT / ".env") if environ is None else {}
        user_env = {**dotenv, **env}
        return cls(
            run_dir=run.resolve(),
            profile=profile,
            ports=resolve_ports(env, port_offset, ports),
            settings=Settings.from_env(env),
            user_env=user_env,
        )

    @property
    def services(self) -> tuple[str, ...]:
        return PROFILES[self.profile]

    @property
    def pushes(self) -> bool:
        """Whether this stack's pusher delivers the push subscriptions (else the emulator does)."""
        return "pusher" in self.services

    @property
    def push_concurrency(self) -> int:
        n = _int(self.user_env, PUSH_CONCURRENCY_VAR, DEFAULT_PUSH_CONCURRENCY)
        if n < 1:
            raise ConfigError(
                f"{PUSH_CONCURRENCY_VAR}={n} must be at least 1, like {PUSH_CONCURRENCY_VAR}=16"
            )
        return n

    @property
    def marker(self) -> str:
        """Set in every child's environment: how `down` tells our processes from a reused pid."""
        return f"CLOUDSWARM_STACK={self.run_dir}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def hostport(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def client_env(self) -> dict[str, str]:
        """What a client of this stack needs; written to <run_dir>/env."""
        s = self.settings
        return {
            "GOOGLE_CLOUD_PROJECT": s.project,
            "CLOUDSWARM_PREFIX": s.prefix,
            "CLOUDSWARM_REGION": s.region,
            "FIRESTORE_EMULATOR_HOST": self.hostport("firestore"),
            "PUBSUB_EMULATOR_HOST": self.hostport("pubsub"),
            "STORAGE_EMULATOR_HOST": self.url("storage"),
            "CLOUDSWARM_TASKS_EMULATOR_HOST": self.hostport("tasks"),
            # A URL, not host:port: the REST client takes it as api_endpoint as it is.
            "CLOUDSWARM_SECRETS_EMULATOR_HOST": self.url("secrets"),
            "CLOUDSWARM_DISPATCH_URL": self.url("task_dispatch"),
            "CLOUDSWARM_MODEL_URL": self.url("model"),
            "CLOUDSWARM_API_URL": self.url("api"),
            "CLOUDSWARM_MCP_URL": self.url("mcp") + "/mcp",
        }

    def secret_values(self) -> dict[str, str | None]:
        """Logical secret name -> value (None: the user gave none and none is generated)."""
        values: dict[str, str | None] = {}
        for logical, spec in names.resources()["secrets"].items():
            value = self.user_env.get(spec["env"]) or None
            if value is None and logical in GENERATED_SECRETS:
                value = self._generated(logical)
            values[logical] = value
        return values

    def mcp_token(self) -> str:
        """The local MCP server's bearer token (a random value kept in the run folder)."""
        return self._generated(LOCAL_MCP_SECRET)

    def _generated(self, logical: str) -> str:
        path = self.run_dir / f"{logical}.secret"
        if not path.exists():
            self.run_dir.mkdir(parents=True, exist_ok=True)
            # Created 0600 from the start: never world-readable, not even for an instant.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def relayed_env(self) -> dict[str, str]:
        """The client env as the functions and the pusher get it: through the relays of an
        `outage` stack, straight to the emulators otherwise."""
        env = self.client_env()
        if "firestore_relay" in self.services:
            env["FIRESTORE_EMULATOR_HOST"] = self.hostport("firestore_relay")
            env["PUBSUB_EMULATOR_HOST"] = self.hostport("pubsub_relay")
            env["STORAGE_EMULATOR_HOST"] = self.url("storage_relay")
        return env

    def function_env(self, function: str) -> dict[str, str]:
        """A function's environment: the client env, its secrets as env vars (as Terraform
        injects them), and the model endpoint."""
        env = {**os.environ, **self.relayed_env(), "PYTHONUNBUFFERED": "1"}
        resources = names.resources()
        values = self.secret_values()
        for logical in resources["functions"][function]["secrets"]:
            if values[logical] is not None:
                env[resources["secrets"][logical]["env"]] = values[logical]
        if self.user_env.get("CLOUDSWARM_MODEL_PROVIDER") == "vertex":
            # Claude on Vertex AI takes no API key, so none is handed to any function; the
            # local model server's Vertex paths stand in for Vertex AI unless the user names
            # an endpoint.
            env.pop("ANTHROPIC_API_KEY", None)
            env.pop("ANTHROPIC_BASE_URL", None)
            env["ANTHROPIC_VERTEX_BASE_URL"] = self.user_env.get("ANTHROPIC_VERTEX_BASE_URL") or (
                self.url("model") + "/v1"
            )
        elif self.user_env.get("ANTHROPIC_API_KEY"):
            env["ANTHROPIC_API_KEY"] = self.user_env["ANTHROPIC_API_KEY"]
        else:
            env["ANTHROPIC_BASE_URL"] = self.url("model")
            env["ANTHROPIC_API_KEY"] = LOCAL_MODEL_KEY
        return env
