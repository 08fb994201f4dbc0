"""Settings read once from the environment; a bad value fails loudly with the fix in the message."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from cloudswarm import names
from cloudswarm.core import pricing
from cloudswarm.errors import ConfigError


def _get(env: Mapping[str, str], key: str, default: str | None = None) -> str:
    value = env.get(key, default)
    if value is None or value == "":
        raise ConfigError(f"{key} is not set: export {key}=... (see README.md, 'Configuration')")
    return value


def _num(env: Mapping[str, str], key: str, default: float, kind=float):
    raw = env.get(key)
    if raw is None or raw == "":
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(
            f"{key}={raw!r} is not a {'whole ' if kind is int else ''}number: "
            f"set it like {key}={kind(default)}"
        ) from None
    if value < 0:
        raise ConfigError(f"{key}={raw!r} must not be negative")
    return value


# Who serves Claude: Anthropic's API (a key from Secret Manager) or Claude on Vertex AI (the
# runtime service account's credentials, no key at all).
MODEL_PROVIDERS = ("anthropic", "vertex")
# A Vertex AI location: the global endpoint, a multi-region (us, eu) or a region like us-east5.
_VERTEX_REGION = re.compile(r"^(global|us|eu|[a-z]+-[a-z]+[0-9]+)$")


def _vertex_base_url(env: Mapping[str, str]) -> str:
    url = env.get("ANTHROPIC_VERTEX_BASE_URL", "").rstrip("/")
    if url and not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise ConfigError(
            f"ANTHROPIC_VERTEX_BASE_URL={url!r} is not an http(s) URL: leave it unset for "
            "Vertex AI itself, or set it like http://127.0.0.1:8090/v1 for the local model server"
        )
    return url


# Where spans go: nowhere (the default), Cloud Trace (a deployment), or JSON lines in a folder
# (the local stack, whose tests read them).
TRACING_MODES = ("off", "cloud", "file")


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw not in ("", "0", "1", "true", "false"):
        raise ConfigError(f"{key}={raw!r} is not a flag: set it to 1/true or 0/false")
    return raw in ("1", "true")


CHAOS_POINTS = frozenset(
    {
        "after_lease",
        "after_model",
        "after_save",
        "after_compaction",  # after saving an answer that compacted the conversation
        "after_tool",
        "before_external",  # before an external (MCP) call is noted and sent
        "after_external",  # after the server answered, before the result is recorded
        "before_release",
    }
)


@dataclass(frozen=True)
class Settings:
    project: str
    prefix: str = "cloudswarm"
    region: str = "us-central1"
    default_model: str = "claude-sonnet-4-6"
    model_provider: str = "anthropic"
    # Claude's Vertex AI location, apart from the functions' region: Claude is not served in
    # every region, and the global endpoint costs no premium (core/prices.json).
    vertex_region: str = "global"
    # Empty: the SDK's endpoint for the region. Set for the local model server's Vertex paths.
    vertex_base_url: str = ""
    # Where task_dispatch is reachable (Cloud Tasks HTTP target) and who signs its OIDC tokens.
    dispatch_url: str = "http://127.0.0.1:8093"
    dispatch_service_account: str = ""
    tasks_emulator_host: str = ""
    secrets_emulator_host: str = ""
    # A turn stops itself well before the function timeout (540 s for event functions) and the
    # lease outlives the turn so a live turn is never mistaken for a dead one.
    # Wall + one call (model_timeout_s x (model_max_retries + 1) = 240 s) ends before the lease's
    # fence (560 s less its 30 s margin) and before the 540 s function timeout.
    turn_wall_s: float = 240.0
    lease_ttl_s: float = 560.0
    model_timeout_s: float = 120.0
    model_max_retries: int = 1
    # One MCP listing or call (an external tool), well inside a turn's wall time.
    mcp_timeout_s: float = 30.0
    max_tokens: int = 4096
    daily_usd_cap: float = 50.0
    max_agents: int = 12
    max_spawn_depth: int = 2
    max_tasks: int = 200
    max_turns_without_progress: int = 8
    max_pair_messages: int = 12
    budget_kill_threshold: float = 1.0
    chaos_crash_rate: float = 0.0
    chaos_seed: int = 0
    chaos_duplicate_doorbells: bool = False
    chaos_crash_points: tuple[str, ...] = ("after_model",)
    tracing: str = "off"
    tracing_dir: str = ""  # tracing=file: the folder each process writes its spans-<pid>.jsonl to
    trace_content: bool = False  # prompts, answers and tool inputs in spans: an operator's choice

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        project = env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or ""
        if not project:
            raise ConfigError(
                "GOOGLE_CLOUD_PROJECT is not set: export GOOGLE_CLOUD_PROJECT=<your project id> "
                "(locally the stack uses 'cloudswarm-local')"
            )
        prefix = env.get("CLOUDSWARM_PREFIX", "cloudswarm")
        if not prefix.replace("-", "").isalnum() or not prefix[:1].isalpha() or len(prefix) > 20:
            raise ConfigError(
                f"CLOUDSWARM_PREFIX={prefix!r} must start with a letter and hold only letters, "
                "digits and '-', at most 20 characters"
            )
        s = cls(
            project=project,
            prefix=prefix,
            region=env.get("CLOUDSWARM_REGION", "us-central1"),
            default_model=env.get("CLOUDSWARM_DEFAULT_MODEL", "claude-sonnet-4-6"),
            model_provider=env.get("CLOUDSWARM_MODEL_PROVIDER") or "anthropic",
            vertex_region=env.get("CLOUDSWARM_VERTEX_REGION") or "global",
            vertex_base_url=_vertex_base_url(env),
            dispatch_url=env.get("CLOUDSWARM_DISPATCH_URL", "http://127.0.0.1:8093"),
            dispatch_service_account=env.get("CLOUDSWARM_DISPATCH_SA", ""),
            tasks_emulator_host=env.get("CLOUDSWARM_TASKS_EMULATOR_HOST", ""),
            secrets_emulator_host=env.get("CLOUDSWARM_SECRETS_EMULATOR_HOST", ""),
            turn_wall_s=_num(env, "CLOUDSWARM_TURN_WALL_S", 240.0),
            lease_ttl_s=_num(env, "CLOUDSWARM_LEASE_TTL_S", 560.0),
            model_timeout_s=_num(env, "CLOUDSWARM_MODEL_TIMEOUT_S", 120.0),
            model_max_retries=_num(env, "CLOUDSWARM_MODEL_MAX_RETRIES", 1, int),
            mcp_timeout_s=_num(env, "CLOUDSWARM_MCP_TIMEOUT_S", 30.0),
            max_tokens=_num(env, "CLOUDSWARM_MAX_TOKENS", 4096, int),
            daily_usd_cap=_num(env, "CLOUDSWARM_DAILY_USD_CAP", 50.0),
            max_agents=_num(env, "CLOUDSWARM_MAX_AGENTS", 12, int),
            max_spawn_depth=_num(env, "CLOUDSWARM_MAX_SPAWN_DEPTH", 2, int),
            max_tasks=_num(env, "CLOUDSWARM_MAX_TASKS", 200, int),
            max_turns_without_progress=_num(env, "CLOUDSWARM_MAX_TURNS_WITHOUT_PROGRESS", 8, int),
            max_pair_messages=_num(env, "CLOUDSWARM_MAX_PAIR_MESSAGES", 12, int),
            budget_kill_threshold=_num(env, "CLOUDSWARM_BUDGET_KILL_THRESHOLD", 1.0),
            chaos_crash_rate=_num(env, "CLOUDSWARM_CHAOS_CRASH_RATE", 0.0),
            chaos_seed=_num(env, "CLOUDSWARM_CHAOS_SEED", 0, int),
            chaos_crash_points=tuple(
                p.strip()
                for p in env.get("CLOUDSWARM_CHAOS_CRASH_POINTS", "after_model").split(",")
                if p.strip()
            ),
            chaos_duplicate_doorbells=env.get("CLOUDSWARM_CHAOS_DUPLICATE_DOORBELLS", "")
            in ("1", "true"),
            tracing=(env.get("CLOUDSWARM_TRACING") or "off").strip().lower(),
            tracing_dir=env.get("CLOUDSWARM_TRACING_DIR", ""),
            trace_content=_flag(env, "CLOUDSWARM_TRACE_CONTENT"),
        )
        if s.tracing not in TRACING_MODES:
            raise ConfigError(
                f"CLOUDSWARM_TRACING={env.get('CLOUDSWARM_TRACING')!r} is not a mode: set it to "
                "off (the default), cloud (Cloud Trace) or file (JSON lines in "
                "CLOUDSWARM_TRACING_DIR)"
            )
        if s.tracing == "file" and not s.tracing_dir:
            raise ConfigError(
                "CLOUDSWARM_TRACING=file needs CLOUDSWARM_TRACING_DIR: export "
                "CLOUDSWARM_TRACING_DIR=<a folder for the span files>"
            )
        if s.model_provider not in MODEL_PROVIDERS:
            raise ConfigError(
                f"CLOUDSWARM_MODEL_PROVIDER={s.model_provider!r} is not a provider: set it to "
                "anthropic (Anthropic's API, with the anthropic-api-key secret) or vertex "
                "(Claude on Vertex AI, with the service account's credentials)"
            )
        if not _VERTEX_REGION.match(s.vertex_region):
            raise ConfigError(
                f"CLOUDSWARM_VERTEX_REGION={s.vertex_region!r} is not a Vertex AI location: set "
                "it to global (the default), us, eu or a region that serves Claude, e.g. us-east5"
            )
        if s.lease_ttl_s <= s.turn_wall_s:
            raise ConfigError(
                f"CLOUDSWARM_LEASE_TTL_S ({s.lease_ttl_s}) must exceed CLOUDSWARM_TURN_WALL_S "
                f"({s.turn_wall_s}) so a live turn is never taken for a dead one"
            )
        call_s = s.model_call_deadline_s
        if call_s >= s.lease_fence_s:
            raise ConfigError(
                "one model call may take CLOUDSWARM_MODEL_TIMEOUT_S x "
                f"(CLOUDSWARM_MODEL_MAX_RETRIES + 1) = {call_s:g} s, which must be shorter than "
                "the lease's fence "
                f"({s.lease_fence_s:g} s: CLOUDSWARM_LEASE_TTL_S less its margin), or every "
                "answer could arrive too late to be kept; raise the TTL or lower the timeout"
            )
        unknown = set(s.chaos_crash_points) - CHAOS_POINTS
        if unknown:
            raise ConfigError(
                f"CLOUDSWARM_CHAOS_CRASH_POINTS names unknown points {sorted(unknown)}; "
                f"known: {', '.join(sorted(CHAOS_POINTS))}"
            )
        if s.chaos_crash_rate > 1:
            raise ConfigError("CLOUDSWARM_CHAOS_CRASH_RATE is a probability between 0 and 1")
        return s

    @property
    def vertex_emulated(self) -> bool:
        """True when Vertex calls go to a server on this machine (the local model server), which
        has no Google credentials to check: the client then sends a placeholder bearer token
        instead of asking Application Default Credentials for one."""
        host = urlsplit(self.vertex_base_url).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def pricing_tariff(self) -> pricing.Tariff:
        """Which price list this deployment's calls are charged at (provider and endpoint)."""
        return pricing.tariff(self.model_provider, self.vertex_region)

    @property
    def model_call_deadline_s(self) -> float:
        """How long one model call may run in all, its SDK retries and a slowly trickling
        stream included: the adapter closes the stream at this deadline (the timeout alone
        bounds each read), so the check against the lease's fence holds for a whole call."""
        return self.model_timeout_s * (self.model_max_retries + 1)

    @property
    def lease_fence_s(self) -> float:
        """How long into its lease a turn may still save an answer or run a tool: the TTL less
        a margin for the write itself (10%, at most 30 s)."""
        return self.lease_ttl_s - min(30.0, self.lease_ttl_s * 0.1)

    def topic(self, logical: str) -> str:
        return names.scoped(self.prefix, logical)

    def queue(self, logical: str) -> str:
        return names.scoped(self.prefix, logical)

    def secret(self, logical: str) -> str:
        return names.scoped(self.prefix, logical)

    def bucket(self, logical: str) -> str:
        return names.bucket(self.project, self.prefix, logical)


@cache
def settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
