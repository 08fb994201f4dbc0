"""Settings.from_env: the defaults, and a loud ConfigError with the fix for every bad value."""

from __future__ import annotations

import pytest

from cloudswarm import names
from cloudswarm import settings as settings_module
from cloudswarm.errors import ConfigError
from cloudswarm.settings import Settings

BASE = {"GOOGLE_CLOUD_PROJECT": "proj"}

# Every numeric setting: env var, field, default, whether it must be whole.
NUMERIC = [
    ("CLOUDSWARM_TURN_WALL_S", "turn_wall_s", 240.0, False),
    ("CLOUDSWARM_LEASE_TTL_S", "lease_ttl_s", 560.0, False),
    ("CLOUDSWARM_MODEL_TIMEOUT_S", "model_timeout_s", 120.0, False),
    ("CLOUDSWARM_MODEL_MAX_RETRIES", "model_max_retries", 1, True),
    ("CLOUDSWARM_MAX_TOKENS", "max_tokens", 4096, True),
    ("CLOUDSWARM_DAILY_USD_CAP", "daily_usd_cap", 50.0, False),
    ("CLOUDSWARM_MAX_AGENTS", "max_agents", 12, True),
    ("CLOUDSWARM_MAX_SPAWN_DEPTH", "max_spawn_depth", 2, True),
    ("CLOUDSWARM_MAX_TASKS", "max_tasks", 200, True),
    ("CLOUDSWARM_MAX_TURNS_WITHOUT_PROGRESS", "max_turns_without_progress", 8, True),
    ("CLOUDSWARM_MAX_PAIR_MESSAGES", "max_pair_messages", 12, True),
    ("CLOUDSWARM_CHAOS_CRASH_RATE", "chaos_crash_rate", 0.0, False),
    ("CLOUDSWARM_CHAOS_SEED", "chaos_seed", 0, True),
]
NUMERIC_IDS = [n[0] for n in NUMERIC]


def test_defaults():
    s = Settings.from_env(BASE)
    assert s == Settings(project="proj")
    assert s.prefix == "cloudswarm"
    assert s.region == "us-central1"
    assert s.default_model == "claude-sonnet-4-6"
    assert s.secrets_emulator_host == ""
    assert s.lease_ttl_s > s.turn_wall_s
    assert isinstance(s.max_tokens, int)


@pytest.mark.parametrize(("key", "field", "default", "whole"), NUMERIC, ids=NUMERIC_IDS)
def test_numeric_defaults_and_overrides(key, field, default, whole):
    assert getattr(Settings.from_env(BASE), field) == default
    assert getattr(Settings.from_env({**BASE, key: ""}), field) == default
    # A value valid for every field, including the lease/wall and probability checks.
    value = "0.5" if not whole else "3"
    if key == "CLOUDSWARM_LEASE_TTL_S":
        value = "900"
    got = getattr(Settings.from_env({**BASE, key: value}), field)
    assert got == (int(value) if whole else float(value))
    assert type(got) is (int if whole else float)


@pytest.mark.parametrize(("key", "field", "default", "whole"), NUMERIC, ids=NUMERIC_IDS)
def test_malformed_number_names_the_variable_and_an_example(key, field, default, whole):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**BASE, key: "lots"})
    message = str(info.value)
    assert message.startswith(f"{key}='lots' is not a {'whole ' if whole else ''}number")
    assert f"set it like {key}={default}" in message


@pytest.mark.parametrize(("key", "field", "default", "whole"), NUMERIC, ids=NUMERIC_IDS)
def test_negative_numbers_are_refused(key, field, default, whole):
    with pytest.raises(ConfigError, match=f"^{key}='-1' must not be negative"):
        Settings.from_env({**BASE, key: "-1"})


@pytest.mark.parametrize("key", [n[0] for n in NUMERIC if n[3]])
def test_whole_numbers_refuse_fractions(key):
    with pytest.raises(ConfigError, match="is not a whole number"):
        Settings.from_env({**BASE, key: "1.5"})


def test_missing_project_says_how_to_set_it():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({})
    assert "export GOOGLE_CLOUD_PROJECT=" in str(info.value)
    assert "cloudswarm-local" in str(info.value)


def test_gcp_project_is_a_fallback_for_the_project():
    assert Settings.from_env({"GCP_PROJECT": "legacy"}).project == "legacy"
    both = {"GCP_PROJECT": "legacy", "GOOGLE_CLOUD_PROJECT": "main"}
    assert Settings.from_env(both).project == "main"


@pytest.mark.parametrize("prefix", ["", "9lives", "has_underscore", "sp ace", "a" * 21, "-x"])
def test_bad_prefix(prefix):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**BASE, "CLOUDSWARM_PREFIX": prefix})
    assert "must start with a letter" in str(info.value)
    assert "at most 20 characters" in str(info.value)


@pytest.mark.parametrize("prefix", ["cs", "team-a", "A1", "a" * 20])
def test_good_prefix(prefix):
    assert Settings.from_env({**BASE, "CLOUDSWARM_PREFIX": prefix}).prefix == prefix


def test_lease_must_outlive_the_turn():
    env = {**BASE, "CLOUDSWARM_TURN_WALL_S": "300", "CLOUDSWARM_LEASE_TTL_S": "300"}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "CLOUDSWARM_LEASE_TTL_S (300.0) must exceed CLOUDSWARM_TURN_WALL_S (300.0)" in str(
        info.value
    )
    assert Settings.from_env({**env, "CLOUDSWARM_LEASE_TTL_S": "301"}).lease_ttl_s == 301


def test_one_model_call_must_fit_inside_the_leases_fence():
    env = {**BASE, "CLOUDSWARM_LEASE_TTL_S": "20", "CLOUDSWARM_TURN_WALL_S": "15"}
    with pytest.raises(
        ConfigError, match=r"= 240 s, which must be shorter than the lease's fence \(18 s"
    ):
        Settings.from_env(env)
    ok = Settings.from_env({**env, "CLOUDSWARM_MODEL_TIMEOUT_S": "8"})
    assert ok.lease_fence_s == 18
    # The adapter closes a call at this deadline, so the check holds for a trickling stream.
    assert ok.model_call_deadline_s == 16
    assert Settings.from_env(BASE).model_call_deadline_s == 240


def test_chaos_rate_is_a_probability():
    with pytest.raises(ConfigError, match="probability between 0 and 1"):
        Settings.from_env({**BASE, "CLOUDSWARM_CHAOS_CRASH_RATE": "1.5"})
    assert Settings.from_env({**BASE, "CLOUDSWARM_CHAOS_CRASH_RATE": "1"}).chaos_crash_rate == 1


def test_string_settings_are_read():
    env = {
        **BASE,
        "CLOUDSWARM_REGION": "europe-west1",
        "CLOUDSWARM_DEFAULT_MODEL": "claude-haiku-4-5",
        "CLOUDSWARM_DISPATCH_URL": "https://dispatch.example",
        "CLOUDSWARM_DISPATCH_SA": "sa@proj.iam.gserviceaccount.com",
        "CLOUDSWARM_TASKS_EMULATOR_HOST": "127.0.0.1:8123",
        "CLOUDSWARM_SECRETS_EMULATOR_HOST": "127.0.0.1:9095",
    }
    s = Settings.from_env(env)
    assert (s.region, s.default_model) == ("europe-west1", "claude-haiku-4-5")
    assert s.dispatch_url == "https://dispatch.example"
    assert s.dispatch_service_account == "sa@proj.iam.gserviceaccount.com"
    assert s.tasks_emulator_host == "127.0.0.1:8123"
    assert s.secrets_emulator_host == "127.0.0.1:9095"


def test_from_env_reads_the_process_environment_and_settings_is_read_once(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-os")
    monkeypatch.setenv("CLOUDSWARM_PREFIX", "osx")
    assert Settings.from_env().project == "from-os"
    settings_module.settings.cache_clear()
    try:
        first = settings_module.settings()
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "changed")
        assert settings_module.settings() is first
        assert first.prefix == "osx"
    finally:
        settings_module.settings.cache_clear()


def test_name_helpers():
    s = Settings.from_env({**BASE, "CLOUDSWARM_PREFIX": "team"})
    assert s.topic("agent-doorbell") == "team-agent-doorbell"
    assert s.queue("agent-retries") == "team-agent-retries"
    assert s.secret("anthropic-api-key") == "team-anthropic-api-key"
    assert s.bucket("transcripts") == "proj-team-transcripts"
    assert names.scoped("p", "x") == "p-x"
    assert names.bucket("proj", "p", "x") == "proj-p-x"


def test_resources_declare_an_env_var_for_every_secret():
    secrets = names.resources()["secrets"]
    assert secrets["anthropic-api-key"]["env"] == "ANTHROPIC_API_KEY"
    for name, spec in secrets.items():
        assert spec["env"].isupper(), name
    # Every secret a function mounts is declared.
    for fn, spec in names.resources()["functions"].items():
        assert set(spec["secrets"]) <= set(secrets), fn


def test_model_provider_defaults_to_anthropic_and_takes_vertex():
    s = Settings.from_env(BASE)
    assert (s.model_provider, s.vertex_region, s.vertex_base_url) == ("anthropic", "global", "")
    v = Settings.from_env(
        {**BASE, "CLOUDSWARM_MODEL_PROVIDER": "vertex", "CLOUDSWARM_VERTEX_REGION": "us-east5"}
    )
    assert (v.model_provider, v.vertex_region) == ("vertex", "us-east5")
    assert v.pricing_tariff.provider == "vertex" and v.pricing_tariff.region == "us-east5"
    assert not v.vertex_emulated


@pytest.mark.parametrize("value", ["Vertex", "bedrock", "openai"])
def test_an_unknown_provider_names_the_choices(value):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**BASE, "CLOUDSWARM_MODEL_PROVIDER": value})
    message = str(info.value)
    assert f"CLOUDSWARM_MODEL_PROVIDER={value!r}" in message
    assert "anthropic" in message and "vertex" in message


@pytest.mark.parametrize("region", ["US-EAST5", "us east5", "europe-west", "-1"])
def test_a_malformed_vertex_region_is_refused(region):
    with pytest.raises(ConfigError, match="CLOUDSWARM_VERTEX_REGION"):
        Settings.from_env({**BASE, "CLOUDSWARM_VERTEX_REGION": region})


@pytest.mark.parametrize("region", ["global", "us", "eu", "us-east5", "europe-west1"])
def test_vertex_locations_are_accepted(region):
    assert Settings.from_env({**BASE, "CLOUDSWARM_VERTEX_REGION": region}).vertex_region == region


@pytest.mark.parametrize(
    ("url", "emulated"),
    [
        ("http://127.0.0.1:8090/v1", True),
        ("http://localhost:8090/v1/", True),
        ("http://[::1]:8090/v1", True),
        ("https://us-east5-aiplatform.googleapis.com/v1", False),
        ("https://10.0.0.5/v1", False),
    ],
)
def test_a_loopback_vertex_base_url_is_the_local_model_server(url, emulated):
    s = Settings.from_env({**BASE, "ANTHROPIC_VERTEX_BASE_URL": url})
    assert s.vertex_base_url == url.rstrip("/")
    assert s.vertex_emulated is emulated


def test_a_vertex_base_url_that_is_not_a_url_is_refused():
    with pytest.raises(ConfigError, match="ANTHROPIC_VERTEX_BASE_URL"):
        Settings.from_env({**BASE, "ANTHROPIC_VERTEX_BASE_URL": "127.0.0.1:8090"})


def test_tracing_is_off_unless_configured():
    s = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p"})
    assert (s.tracing, s.tracing_dir, s.trace_content) == ("off", "", False)
    s = Settings.from_env(
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "CLOUDSWARM_TRACING": "cloud",
            "CLOUDSWARM_TRACE_CONTENT": "1",
        }
    )
    assert (s.tracing, s.trace_content) == ("cloud", True)


@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"CLOUDSWARM_TRACING": "jaeger"},
            r"CLOUDSWARM_TRACING='jaeger' is not a mode: set it to off",
        ),
        ({"CLOUDSWARM_TRACING": "file"}, "CLOUDSWARM_TRACING=file needs CLOUDSWARM_TRACING_DIR"),
        (
            {"CLOUDSWARM_TRACE_CONTENT": "yes please"},
            "CLOUDSWARM_TRACE_CONTENT='yes please' is not a flag",
        ),
    ],
)
def test_a_bad_tracing_setting_is_refused_with_the_fix(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", **env})
