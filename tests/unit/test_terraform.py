"""Structural checks of terraform/ (python-hcl2): what `terraform validate` cannot see offline.

The deployment is data-driven: every topic, subscription, queue, bucket, secret and function comes
from shared/cloudswarm/resources.json. So these tests check two things: that the declaration
satisfies the rules (dead letters, declared secrets...), and that the wiring carries the
declaration through unchanged (names, secrets, retry policies, roles).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from functools import cache
from pathlib import Path

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from cloudswarm import names
from cloudswarm.errors import ConfigError
from cloudswarm.settings import MODEL_PROVIDERS, Settings
from emulators import scheduler

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
MODULES = TF / "modules"
RES = names.resources()
OPTS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)

# Every role any principal may hold, by principal. Functions are keyed by entry point; the rest
# are the deployment's own accounts and Google's agents. Widening this list is a review decision.
ALLOWED_ROLES = {
    "agent_turn": {
        "roles/datastore.user",
        "roles/pubsub.publisher",
        "roles/storage.objectUser",
        "roles/cloudtasks.enqueuer",
        "roles/iam.serviceAccountUser",
        "roles/secretmanager.secretAccessor",
        "roles/aiplatform.user",  # model_provider = "vertex": it calls Claude as itself
    },
    "swarm_trigger": {"roles/datastore.user", "roles/pubsub.publisher"},
    "task_dispatch": {
        "roles/datastore.user",
        "roles/pubsub.publisher",
        "roles/cloudtasks.enqueuer",
        "roles/iam.serviceAccountUser",
    },
    "api": {
        "roles/datastore.user",
        "roles/pubsub.publisher",
        "roles/pubsub.subscriber",
        "roles/storage.objectViewer",
        "roles/secretmanager.secretAccessor",
        "roles/firebaseauth.admin",
        "roles/iam.serviceAccountTokenCreator",
    },
    "tasks_sa": {"roles/run.invoker"},
    "push_sa": {"roles/run.invoker"},
    "build_sa": {
        "roles/logging.logWriter",
        "roles/artifactregistry.writer",
        "roles/storage.objectViewer",
    },
    "pubsub_agent": {
        "roles/pubsub.publisher",
        "roles/pubsub.subscriber",
        "roles/iam.serviceAccountTokenCreator",
    },
    "billing_agent": {"roles/pubsub.publisher"},
    "allUsers": {"roles/run.invoker"},
    # Cloud Storage delivers the access logs as this group, into the access-log bucket only.
    "storage_analytics": {"roles/storage.objectCreator"},
    # The Google service agents that encrypt with a customer-managed key, on that key only.
    "kms_service_agents": {"roles/cloudkms.cryptoKeyEncrypterDecrypter"},
}
# Every function writes its spans to Cloud Trace (var.tracing = "cloud", the default).
TRACE_ROLE = "roles/cloudtrace.agent"
for _fn in ("agent_turn", "swarm_trigger", "task_dispatch", "api"):
    ALLOWED_ROLES[_fn].add(TRACE_ROLE)
# A function added to resources.json without an entry above may have Firestore and nothing else
# (and write its traces).
DEFAULT_FUNCTION_ROLES = {"roles/datastore.user", TRACE_ROLE}
PROJECT_WIDE_ALLOWED = {
    "roles/datastore.user",
    "roles/logging.logWriter",
    "roles/firebaseauth.admin",
    "roles/aiplatform.user",  # Vertex AI has no finer IAM for publisher models
    TRACE_ROLE,  # Cloud Trace has no finer IAM than the project
}
PROVIDERS = ("anthropic", "vertex")
# Names only the deployment has (no local counterpart), so they are not in resources.json: build
# inputs (a gcs module) and the access logs of every other bucket (its own resource).
DEPLOY_ONLY_BUCKETS = {"sources"}
# Every resource type that can take a customer-managed key, and how it is wired to the one
# optional variable (var.encryption, through the root's locals and each module's kms_key).
KEYED_RESOURCES = {
    "google_storage_bucket": "encryption",
    "google_pubsub_topic": "kms_key_name",
    "google_artifact_registry_repository": "kms_key_name",
    "google_cloudfunctions2_function": "kms_key_name",
    "google_firestore_database": "cmek_config",
    "google_secret_manager_secret": "customer_managed_encryption",
}
KMS_KEY_PATTERN = r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$"
ROLE = r"roles/[A-Za-z]+\.[A-Za-z]+"


# ------------------------------------------------------------------------------------ parsing


def _norm(value):
    """Expressions with whitespace collapsed, so checks do not depend on terraform fmt."""
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


@cache
def parsed(path: Path) -> dict:
    with path.open() as f:
        return _norm(hcl2.load(f, serialization_options=OPTS))


def tf_files(directory: Path = TF) -> list[Path]:
    return sorted(p for p in directory.rglob("*.tf") if ".terraform" not in p.parts)


def blocks(kind: str, directory: Path = TF):
    """(file, type or name, [name,] body) for every `kind` block (resource, module, variable...)."""
    for path in tf_files(directory):
        for entry in parsed(path).get(kind, []):
            for label, body in entry.items():
                if kind in ("resource", "data"):
                    for name, inner in body.items():
                        yield path, label, name, inner
                else:
                    yield path, label, body


def resources(rtype: str, directory: Path = TF) -> list[tuple[Path, str, dict]]:
    return [(p, n, b) for p, t, n, b in blocks("resource", directory) if t == rtype]


def module_call(name: str) -> dict:
    found = [b for p, n, b in blocks("module", TF) if n == name and p.parent == TF]
    assert len(found) == 1, f"root module calls module {name!r} {len(found)} times"
    return found[0]


@cache
def root_locals() -> dict:
    merged: dict = {}
    for path in tf_files(TF):
        if path.parent != TF:
            continue
        for entry in parsed(path).get("locals", []):
            merged.update(entry)
    return merged


def module_resource(module: str, rtype: str, name: str) -> dict:
    found = [b for p, n, b in resources(rtype, MODULES / module) if n == name]
    assert len(found) == 1, f"modules/{module}: expected one {rtype}.{name}"
    return found[0]


def dynamic_block(body: dict, name: str) -> dict | None:
    for entry in body.get("dynamic", []):
        if name in entry:
            return entry[name]
    return None


def roles_in_code() -> set[str]:
    """Every role named in an expression (descriptions and messages are prose, not grants)."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k not in ("description", "error_message"):
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            found.update(re.findall(ROLE, node))

    for path in tf_files():
        walk(parsed(path))
    return found


def all_tf_text() -> str:
    return "\n".join(p.read_text() for p in tf_files())


# ------------------------------------------------------------------------------------ style


def _terraform() -> str:
    """The terraform binary: a prerequisite of `make setup` (emulators/prereqs.py), so its
    absence fails the test rather than skipping it."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH: see `make prereqs`")
    return terraform


def test_terraform_fmt_check():
    terraform = _terraform()
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TF)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"terraform fmt -check failed:\n{result.stdout}{result.stderr}"


def test_every_file_parses_and_modules_have_the_standard_layout():
    assert tf_files(), "no .tf files under terraform/"
    for path in tf_files():
        parsed(path)  # raises on a syntax error
    module_dirs = sorted(p for p in MODULES.iterdir() if p.is_dir())
    assert module_dirs
    for directory in [TF, *module_dirs]:
        for required in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (directory / required).is_file(), f"{directory.relative_to(REPO)}: no {required}"


def test_every_variable_has_a_type_and_a_description():
    variables = list(blocks("variable"))
    assert len(variables) > 20
    for path, name, body in variables:
        where = f"{path.relative_to(REPO)}: variable {name}"
        assert body.get("type"), f"{where} has no type"
        assert str(body.get("description", "")).strip(), f"{where} has no description"


def test_every_output_has_a_description():
    for path, name, body in blocks("output"):
        assert str(body.get("description", "")).strip(), f"{path.relative_to(REPO)}: {name}"


def test_providers_are_pinned_and_a_remote_state_example_exists():
    for path in tf_files():
        if path.name != "versions.tf":
            continue
        (terraform,) = parsed(path)["terraform"]
        assert terraform.get("required_version"), f"{path}: no required_version"
        providers = {k: v for entry in terraform["required_providers"] for k, v in entry.items()}
        assert set(providers) == {"google", "google-beta"}, path
        for name, spec in providers.items():
            assert spec["source"] == f"hashicorp/{name}", path
            if path.parent == TF:
                assert re.fullmatch(r"~> \d+\.\d+\.\d+", spec["version"]), (path, spec)
            else:
                assert re.fullmatch(r">= \d+\.\d+\.\d+, < \d+\.0\.0", spec["version"]), (path, spec)
    example = hcl2.loads((TF / "backend.tf.example").read_text(), serialization_options=OPTS)
    (terraform,) = example["terraform"]
    (backend,) = terraform["backend"]
    assert set(backend["gcs"]) >= {"bucket", "prefix"}


def test_prefix_is_validated_and_every_valid_prefix_is_one_settings_accepts():
    (prefix,) = [b for p, n, b in blocks("variable") if n == "prefix" and p.parent == TF]
    assert prefix["type"] == "string" and prefix["default"] == "cloudswarm"
    (validation,) = prefix["validation"]
    pattern = re.search(r'regex\("(.+?)", var\.prefix\)', validation["condition"]).group(1)
    pattern = pattern.replace("\\\\", "\\")
    valid = ["cloudswarm", "cs", "team-a", "a1", "x" * 16]
    invalid = ["", "a", "1abc", "-abc", "abc-", "Team", "a_b", "x" * 17, "a.b"]
    for p in valid:
        assert re.fullmatch(pattern, p), p
        env = {"GOOGLE_CLOUD_PROJECT": "proj", "CLOUDSWARM_PREFIX": p}
        assert Settings.from_env(env).prefix == p
    for p in invalid:
        assert not re.fullmatch(pattern, p), p
    # The longest allowed prefix still fits a 30-character service account id.
    longest_function = max(len(f) for f in RES["functions"])
    assert 16 + 1 + longest_function <= 30
    with pytest.raises(ConfigError):
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": "proj", "CLOUDSWARM_PREFIX": "-bad"})


# ----------------------------------------------------------------------- one source of truth


def test_the_declaration_is_the_shared_resources_json():
    expr = root_locals()["resources"]
    match = re.fullmatch(r'\$\{jsondecode\(file\("\$\{path\.module\}/(.+)"\)\)\}', expr)
    assert match, expr
    assert (TF / match.group(1)).resolve() == names.RESOURCES_FILE.resolve()
    for kind in ("functions", "topics", "subscriptions", "buckets", "queues"):
        assert root_locals()[kind] == f"${{local.resources.{kind}}}"
    assert root_locals()["declared_secrets"] == "${local.resources.secrets}"
    # And the local stack bootstraps from the very same file.
    bootstrap = (REPO / "emulators" / "bootstrap.py").read_text()
    assert "names.resources()" in bootstrap


NAME_RULES = {
    "topic_names": ("topics", lambda project, prefix, k: names.scoped(prefix, k)),
    "subscription_names": ("subscriptions", lambda project, prefix, k: names.scoped(prefix, k)),
    "queue_names": ("queues", lambda project, prefix, k: names.scoped(prefix, k)),
    "secret_names": ("secrets", lambda project, prefix, k: names.scoped(prefix, k)),
    "bucket_names": ("buckets", lambda project, prefix, k: names.bucket(project, prefix, k)),
}


@pytest.mark.parametrize("local_name", sorted(NAME_RULES))
def test_terraform_names_follow_cloudswarm_names(local_name):
    kind, rule = NAME_RULES[local_name]
    expr = root_locals()[local_name]
    match = re.fullmatch(r'\$\{\{for k in keys\(local\.(\w+)\) : k => "(.+)"\}\}', expr)
    assert match, f"{local_name} is not a name-per-declared-key map: {expr}"
    assert match.group(1) == kind
    template = match.group(2)
    for project, prefix in [("proj-1", "cloudswarm"), ("my-project", "team-a")]:
        for key in RES[kind]:
            concrete = (
                template.replace("${var.project_id}", project)
                .replace("${var.prefix}", prefix)
                .replace("${k}", key)
            )
            assert "${" not in concrete, f"{local_name}: unexpected template {template}"
            assert concrete == rule(project, prefix, key)


def test_every_declared_resource_is_created_under_its_declared_name():
    pubsub = module_call("pubsub")
    assert "for k, t in local.topics" in pubsub["topics"]
    assert "name = local.topic_names[k]" in pubsub["topics"]
    assert "for k, s in local.subscriptions" in pubsub["subscriptions"]
    assert "name = local.subscription_names[k]" in pubsub["subscriptions"]
    assert "topic = s.topic" in pubsub["subscriptions"]

    queues = module_call("queues")
    assert queues["for_each"] == "${local.queues}"
    assert queues["name"] == "${local.queue_names[each.key]}"

    buckets = module_call("buckets")
    assert buckets["for_each"] == "${local.buckets}"
    assert buckets["name"] == "${local.bucket_names[each.key]}"
    assert "each.value.lifecycle_delete_days" in buckets["lifecycle_delete_days"]

    secrets = module_call("secrets")
    assert "for k in keys(local.secrets)" in secrets["secrets"]
    assert "name = local.secret_names[k]" in secrets["secrets"]

    functions = module_call("functions")
    assert functions["for_each"] == "${local.functions}"
    assert functions["entry_point"] == "${each.key}"
    for field in ("memory", "timeout_s", "max_instances"):
        assert functions["config"][field] == f"${{each.value.{field}}}", field

    # Inside the modules, names come from the inputs: never a literal.
    named = {
        "google_pubsub_topic": "name",
        "google_pubsub_subscription": "name",
        "google_cloud_tasks_queue": "name",
        "google_secret_manager_secret": "secret_id",
        "google_storage_bucket": "name",
        "google_cloudfunctions2_function": "name",
    }
    for rtype, attr in named.items():
        found = resources(rtype)
        assert found, f"no {rtype} anywhere"
        for path, name, body in found:
            assert str(body[attr]).startswith("${"), f"{path}: {rtype}.{name} has a literal name"

    # Terraform creates no bucket the declaration does not know of, except its own build inputs.
    bucket_modules = [
        b for p, n, b in blocks("module", TF) if p.parent == TF and "gcs" in b["source"]
    ]
    assert len(bucket_modules) == 1 + len(DEPLOY_ONLY_BUCKETS)
    assert root_locals()["sources_bucket_name"] == "${var.project_id}-${var.prefix}-sources"
    root_buckets = {n: b for p, n, b in resources("google_storage_bucket") if p.parent == TF}
    assert set(root_buckets) == {"access_logs"}
    assert root_buckets["access_logs"]["name"] == "${local.access_logs_bucket_name}"
    assert root_locals()["access_logs_bucket_name"] == "${var.project_id}-${var.prefix}-access-logs"


def test_declared_subscriptions_topics_and_queues_are_consistent():
    topics, subs = RES["topics"], RES["subscriptions"]
    for name, sub in subs.items():
        assert sub["topic"] in topics, name
        if "push_function" in sub:
            assert sub["push_function"] in RES["functions"], name
    for name, fn in RES["functions"].items():
        if fn["kind"] == "pubsub":
            assert fn["topic"] in topics, name
            pushers = [s for s in subs.values() if s.get("push_function") == name]
            assert [s["topic"] for s in pushers] == [fn["topic"]], name
    for name, queue in RES["queues"].items():
        assert RES["functions"][queue["target_function"]]["kind"] == "http", name
    assert "budget-alerts" in topics
    assert root_locals()["budget_topic"] == "budget-alerts"


# ------------------------------------------------------------------------------------ secrets


def test_every_function_secret_is_declared():
    for name, fn in RES["functions"].items():
        for secret in fn["secrets"]:
            assert secret in RES["secrets"], f"{name} mounts undeclared secret {secret}"
    envs = [s["env"] for s in RES["secrets"].values()]
    assert len(envs) == len(set(envs))


def secrets_created(provider: str) -> set[str]:
    """The logical secrets Terraform creates for ``provider``, following local.secrets' filter:
    a secret in local.provider_only_secrets exists only with its provider."""
    expr = root_locals()["secrets"]
    assert "for k, v in local.declared_secrets : k => v" in expr, expr
    assert (
        "if lookup(local.provider_only_secrets, k, var.model_provider) == var.model_provider"
        in expr
    ), expr
    only = root_locals()["provider_only_secrets"]
    assert set(only.values()) <= set(PROVIDERS)
    return {k for k in RES["secrets"] if only.get(k, provider) == provider}


def test_the_vertex_configuration_has_no_api_key_secret():
    assert "anthropic-api-key" not in secrets_created("vertex")
    assert secrets_created("anthropic") == set(RES["secrets"])
    # Everything else is the same, so a switch of provider touches only the key.
    assert secrets_created("anthropic") - secrets_created("vertex") == {"anthropic-api-key"}
    # What is created is what is named, mounted, granted and reported: all follow local.secrets.
    assert "keys(local.secrets)" in root_locals()["secret_names"]
    assert "for k in keys(local.secrets)" in module_call("secrets")["secrets"]
    assert "contains(keys(local.secrets), s)" in root_locals()["function_secret_env"]
    assert "for k, s in local.secrets" in (TF / "outputs.tf").read_text()
    assert "for k, s in local.secrets" in (TF / "scripts" / "deploy.sh").read_text()


def test_model_provider_is_validated_and_wired_to_the_functions():
    (var,) = [b for p, n, b in blocks("variable") if n == "model_provider" and p.parent == TF]
    assert var["type"] == "string" and var["default"] == "anthropic"
    (validation,) = var["validation"]
    assert validation["condition"] == '${contains(["anthropic", "vertex"], var.model_provider)}'
    assert set(MODEL_PROVIDERS) == set(PROVIDERS)
    # The region Terraform accepts is one the settings accept, and no other.
    (region,) = [b for p, n, b in blocks("variable") if n == "vertex_region" and p.parent == TF]
    assert region["default"] == Settings(project="p").vertex_region
    condition = region["validation"][0]["condition"]
    pattern = re.search(r'regex\("(.+?)", var\.vertex_region\)', condition).group(1)
    for value in ("global", "us", "eu", "us-east5", "europe-west1", "US", "us_east5", "-1"):
        accepted = bool(re.fullmatch(pattern, value))
        env = {"GOOGLE_CLOUD_PROJECT": "p", "CLOUDSWARM_VERTEX_REGION": value}
        try:
            Settings.from_env(env)
            settings_accept = True
        except ConfigError:
            settings_accept = False
        assert accepted == settings_accept, value
    services = module_call("services")["services"]
    assert 'var.model_provider == "vertex" ? ["aiplatform.googleapis.com"] : []' in services


def test_secret_env_vars_are_wired_from_declared_secrets_only():
    secret_env = root_locals()["function_secret_env"]
    # Indexing local.declared_secrets with each name a function lists fails the plan for an
    # undeclared one; only the secrets this deployment creates are mounted.
    assert "for fk, f in local.functions" in secret_env
    assert "for s in f.secrets : local.declared_secrets[s].env => s" in secret_env
    assert "if contains(keys(local.secrets), s)" in secret_env

    functions = module_call("functions")
    expr = functions["secret_environment_variables"]
    assert "local.function_secret_env[each.key]" in expr
    assert "module.secrets.secret_ids[secret]" in expr

    body = module_resource("cloud-function", "google_cloudfunctions2_function", "function")
    (service,) = body["service_config"]
    assert "secret_environment_variables" not in service, "secrets must come from the variable"
    dyn = dynamic_block(service, "secret_environment_variables")
    assert dyn and dyn["for_each"] == "${var.secret_environment_variables}"
    (content,) = dyn["content"]
    assert content["secret"] == "${secret_environment_variables.value.secret_id}"
    assert content["key"] == "${secret_environment_variables.key}"

    # Every function's runtime account may read exactly the secrets it mounts.
    assert "contains(f.secrets, k)" in module_call("secrets")["secrets"]


def test_no_secret_value_can_reach_terraform():
    text = all_tf_text()
    for forbidden in (
        "google_secret_manager_secret_version",
        "secret_data",
        "google_service_account_key",
        "private_key",
    ):
        assert forbidden not in text, forbidden
    # Plain env vars never carry a secret: the plan fails if someone tries.
    (declaration,) = [b for p, n, b in resources("terraform_data") if n == "declaration"]
    assert "local.secret_env_names" in json.dumps(declaration)
    # A variable about secrets holds names and wiring, never a value with a default.
    for path, name, body in blocks("variable"):
        if any(w in name.lower() for w in ("password", "token", "api_key", "secret")):
            default = body.get("default")
            assert not isinstance(default, str) or not default, f"{path}: variable {name}"
    secret_env_names = {s["env"] for s in RES["secrets"].values()}
    literal_patterns = [
        r"sk-ant-[A-Za-z0-9_-]{10,}",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"AIza[0-9A-Za-z_-]{35}",
        r"ghp_[A-Za-z0-9]{20,}",
    ]
    for path in sorted(TF.rglob("*")):
        if not path.is_file() or ".terraform" in path.parts:
            continue
        content = path.read_text(errors="replace")
        for pattern in literal_patterns:
            assert not re.search(pattern, content), f"{path}: looks like a secret ({pattern})"
        for env in secret_env_names:
            assert not re.search(rf"\b{env}\s*=\s*\"", content), f"{path}: sets {env} literally"


# ------------------------------------------------------------------------ delivery and retry


def test_every_push_subscription_has_a_dead_letter_topic_and_an_explicit_retry_policy():
    # The declaration.
    for name, sub in RES["subscriptions"].items():
        if "push_function" not in sub:
            continue
        assert sub.get("dead_letter") in RES["topics"], name
        assert 5 <= sub["max_delivery_attempts"] <= 100, name
        assert 0 <= sub["min_backoff_s"] <= sub["max_backoff_s"] <= 600, name
        fn = RES["functions"][sub["push_function"]]
        assert sub["ack_deadline_s"] >= fn["timeout_s"], f"{name}: acked before the function ends"

    # The wiring: the root hands the declared values to the module...
    subs = module_call("pubsub")["subscriptions"]
    for piece in (
        "dead_letter = try(s.dead_letter, null)",
        "max_delivery_attempts = try(s.max_delivery_attempts, 5)",
        "min_backoff_s = try(s.min_backoff_s, 10)",
        "max_backoff_s = try(s.max_backoff_s, 600)",
        "push = try(s.push_function, null) == null ? null :",
    ):
        assert piece in subs, piece
    # ...whose variable refuses a push subscription without a dead-letter topic...
    (variable,) = [b for p, n, b in blocks("variable", MODULES / "pubsub") if n == "subscriptions"]
    assert any(
        "s.push == null || s.dead_letter != null" in v["condition"] for v in variable["validation"]
    )
    # ...and whose push subscriptions always carry both policies and an OIDC token.
    push = module_resource("pubsub", "google_pubsub_subscription", "push")
    assert push["for_each"] == "${local.push_subscriptions}"
    (dead_letter,) = push["dead_letter_policy"]
    assert dead_letter["dead_letter_topic"] and dead_letter["max_delivery_attempts"]
    (retry,) = push["retry_policy"]
    assert retry["minimum_backoff"] and retry["maximum_backoff"]
    (push_config,) = push["push_config"]
    assert push_config["oidc_token"]

    # Generic: any subscription anywhere that pushes has both policies.
    for path, name, body in resources("google_pubsub_subscription"):
        if "push_config" in body or dynamic_block(body, "push_config"):
            assert "dead_letter_policy" in body and "retry_policy" in body, f"{path}: {name}"
        assert "retry_policy" in body or dynamic_block(body, "retry_policy"), f"{path}: {name}"

    # No Eventarc trigger makes a subscription we cannot give a dead-letter topic.
    for path, _name, body in resources("google_cloudfunctions2_function"):
        assert "event_trigger" not in body and not dynamic_block(body, "event_trigger"), path
    assert not resources("google_eventarc_trigger")


def test_queues_and_the_sweep_job_retry_explicitly():
    (queue,) = [b for p, n, b in resources("google_cloud_tasks_queue")]
    assert queue["retry_config"] and queue["rate_limits"]
    queues = module_call("queues")
    assert "each.value.max_attempts" in str(queues["retry"])
    assert "each.value.max_dispatches_per_second" in str(queues["rate_limits"])
    (job,) = [b for p, n, b in resources("google_cloud_scheduler_job") if n == "watchdog_sweep"]
    assert job["retry_config"]
    (target,) = job["http_target"]
    assert target["http_method"] == "POST"
    assert target["uri"].endswith("/sweep")
    assert target["oidc_token"][0]["service_account_email"] == "${module.tasks_sa.email}"


def test_every_schedule_is_an_authenticated_job_posting_its_request_to_task_dispatch():
    (job,) = [b for p, n, b in resources("google_cloud_scheduler_job") if n == "schedules"]
    assert job["for_each"] == "${var.schedules}"
    assert job["name"] == "${local.schedule_job_names[each.key]}"
    assert job["schedule"] == "${each.value.cron}"
    assert job["time_zone"] == "${each.value.time_zone}"
    assert job["paused"] == "${each.value.paused}"
    # Retries are safe (one swarm per fire time) and wanted: a cold start should not drop a fire.
    assert job["retry_config"][0]["retry_count"] == scheduler.RETRIES
    (target,) = job["http_target"]
    # An HTTP target: only its request carries the fire's schedule time (a Pub/Sub target's
    # message is the same on every fire), and the request id is derived from that time.
    assert target["http_method"] == "POST"
    assert target["uri"] == "${module.functions[local.dispatch_function].url}/schedule"
    assert target["headers"] == {"Content-Type": "application/json"}
    assert target["body"] == "${base64encode(jsonencode(local.schedule_bodies[each.key]))}"
    (oidc,) = target["oidc_token"]
    assert oidc["service_account_email"] == "${module.tasks_sa.email}"
    assert oidc["audience"] == "${module.functions[local.dispatch_function].url}"
    assert root_locals()["dispatch_function"] == "${one(local.queue_targets)}"
    assert {q["target_function"] for q in RES["queues"].values()} == {"task_dispatch"}


def test_the_schedules_variable_and_the_stand_in_read_the_same_declaration():
    from cloudswarm.triggers import SCHEDULE_NAME, BudgetIn, ScheduleFire

    variable = _root_variable("schedules")
    assert variable["default"] == {}
    declared = set(re.findall(r"(\w+) = ", variable["type"]))
    assert declared == set(scheduler.Schedule.model_fields) | set(BudgetIn.model_fields)
    # The body Terraform writes has exactly the fields the function's model takes.
    body = root_locals()["schedule_bodies"]
    assert set(re.findall(r"(\w+) = ", body)) == set(ScheduleFire.model_fields)
    assert "schedule = k" in body
    # Names: the same pattern in both, and the same job name.
    conditions = " ".join(v["condition"] for v in variable["validation"])
    assert f'regex("{SCHEDULE_NAME}", k)' in conditions
    assert root_locals()["schedule_job_names"] == (
        '${{for k in keys(var.schedules) : k => "${var.prefix}-schedule-${k}"}}'
    )
    assert scheduler.job_name("cs", "nightly") == "cs-schedule-nightly"
    # Every schedule in the example file is one both accept.
    example = json.loads((TF / "schedules.auto.tfvars.json.example").read_text())
    assert example["schedules"]
    assert all(re.fullmatch(SCHEDULE_NAME, k) for k in example["schedules"])
    assert scheduler.load(TF / "schedules.auto.tfvars.json.example")


def _hcl_block(text: str, opening: str) -> str:
    """The block or expression that starts with `opening` (ending in "{"), braces matched."""
    start = text.index(opening)
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0 and text[i] == "}":
            return text[start : i + 1]
    raise AssertionError(f"unbalanced block {opening!r}")


def _terraform_schedules(tmp_path: Path, schedules: dict) -> subprocess.CompletedProcess:
    """Real Terraform, offline (no provider): the real `schedules` variable and the real body
    expression, applied to `schedules`; the bodies come out as the `bodies` output."""
    terraform = _terraform()
    variable = _hcl_block((TF / "variables.tf").read_text(), 'variable "schedules" {')
    bodies = _hcl_block((TF / "schedules.tf").read_text(), "schedule_bodies = {")
    (tmp_path / "main.tf").write_text(
        f"{variable}\nlocals {{\n{bodies}\n}}\n"
        'output "bodies" { value = { for k, b in local.schedule_bodies : k => jsonencode(b) } }\n'
    )
    (tmp_path / "in.tfvars.json").write_text(json.dumps({"schedules": schedules}))

    def tf(*args):
        cmd = [terraform, f"-chdir={tmp_path}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    assert tf("init", "-input=false", "-no-color").returncode == 0
    applied = tf("apply", "-auto-approve", "-input=false", "-no-color", "-var-file=in.tfvars.json")
    if applied.returncode != 0:
        return applied
    return tf("output", "-json", "bodies")


def test_terraform_writes_the_body_the_stand_in_posts(tmp_path):
    example = json.loads((TF / "schedules.auto.tfvars.json.example").read_text())["schedules"]
    out = _terraform_schedules(tmp_path, example)
    assert out.returncode == 0, out.stderr
    from_terraform = {k: json.loads(v) for k, v in json.loads(out.stdout).items()}
    stand_in = scheduler.load(TF / "schedules.auto.tfvars.json.example")
    assert from_terraform == {k: json.loads(s.body(k)) for k, s in stand_in.items()}


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"Bad_Name": {"cron": "0 6 * * *", "goal": "g"}}, "schedule name"),
        ({"n": {"cron": "0 6 * *", "goal": "g"}}, "five fields"),
        ({"n": {"cron": "0 6 * * *", "goal": "  "}}, "goal is"),
        ({"n": {"cron": "0 6 * * *", "goal": "g", "budget": {"usd": 0}}}, "greater than 0"),
        ({"n": {"cron": "0 6 * * *", "goal": "g", "budget": {"turns": 1.5}}}, "whole numbers"),
    ],
)
def test_terraform_refuses_a_bad_schedule_at_plan_time(tmp_path, entry, words):
    out = _terraform_schedules(tmp_path, entry)
    assert out.returncode != 0
    assert words in " ".join(out.stderr.split())
    # The stand-in refuses the same file.
    path = tmp_path / "in.tfvars.json"
    with pytest.raises(ConfigError):
        scheduler.load(path)


# -------------------------------------------------------------------------------- IAM


def _access() -> dict[str, dict[str, list[str]]]:
    access = root_locals()["access"]
    keys = ("publish", "subscribe", "buckets_write", "buckets_read", "enqueue")
    return {fn: {k: access.get(fn, {}).get(k, []) for k in keys} for fn in RES["functions"]}


def _model_functions(provider: str) -> set[str]:
    """The functions that call Claude on Vertex AI as themselves (none with anthropic)."""
    assert 'contains(f.secrets, "anthropic-api-key")' in root_locals()["model_functions"]
    vertex = root_locals()["vertex_functions"]
    assert vertex == '${var.model_provider == "vertex" ? local.model_functions : toset([])}'
    if provider != "vertex":
        return set()
    return {fn for fn, spec in RES["functions"].items() if "anthropic-api-key" in spec["secrets"]}


def effective_grants(provider: str = "anthropic", tracing: str = "cloud") -> dict[str, set[str]]:
    """Roles per principal, following the wiring the other assertions in this file pin down."""
    grants: dict[str, set[str]] = defaultdict(set)
    project_roles = root_locals()["function_project_roles"]
    extra = root_locals()["extra_project_roles"]
    assert 'contains(local.firebase_functions, k) ? ["roles/firebaseauth.admin"] : []' in extra
    assert 'contains(local.vertex_functions, k) ? ["roles/aiplatform.user"] : []' in extra
    assert 'var.tracing == "cloud" ? ["roles/cloudtrace.agent"] : []' in extra
    firebase_fns = set(re.findall(r'"(\w+)"', root_locals()["firebase_functions"]))
    created = secrets_created(provider)
    for fn, spec in RES["functions"].items():
        grants[fn] |= set(project_roles)
        if tracing == "cloud":
            grants[fn].add(TRACE_ROLE)
        if fn in firebase_fns:
            grants[fn] |= {"roles/firebaseauth.admin", "roles/iam.serviceAccountTokenCreator"}
        if fn in _model_functions(provider):
            grants[fn].add("roles/aiplatform.user")
        if set(spec["secrets"]) & created:
            grants[fn].add("roles/secretmanager.secretAccessor")
        a = _access()[fn]
        if a["publish"]:
            grants[fn].add("roles/pubsub.publisher")
        if a["subscribe"]:
            grants[fn].add("roles/pubsub.subscriber")
        if a["buckets_write"]:
            grants[fn].add("roles/storage.objectUser")
        if a["buckets_read"]:
            grants[fn].add("roles/storage.objectViewer")
        if a["enqueue"]:
            grants[fn] |= {"roles/cloudtasks.enqueuer", "roles/iam.serviceAccountUser"}
    grants["tasks_sa"].add("roles/run.invoker")
    grants["push_sa"].add("roles/run.invoker")
    grants["build_sa"] |= set(module_call("build_sa")["project_roles"])
    grants["build_sa"] |= {"roles/artifactregistry.writer", "roles/storage.objectViewer"}
    grants["pubsub_agent"] |= {
        "roles/pubsub.publisher",
        "roles/pubsub.subscriber",
        "roles/iam.serviceAccountTokenCreator",
    }
    grants["billing_agent"].add("roles/pubsub.publisher")
    grants["allUsers"].add("roles/run.invoker")
    grants["storage_analytics"].add("roles/storage.objectCreator")
    grants["kms_service_agents"].add("roles/cloudkms.cryptoKeyEncrypterDecrypter")
    return grants


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_service_account_holds_only_allow_listed_roles(provider):
    for principal, roles in effective_grants(provider).items():
        allowed = ALLOWED_ROLES.get(principal, DEFAULT_FUNCTION_ROLES)
        assert roles <= allowed, f"{principal} would hold {sorted(roles - allowed)}"


def test_only_vertex_grants_vertex_and_only_to_the_functions_that_call_the_model():
    anthropic, vertex = effective_grants("anthropic"), effective_grants("vertex")
    holders = {p for p, roles in vertex.items() if "roles/aiplatform.user" in roles}
    assert holders == {"agent_turn"}
    assert not any("roles/aiplatform.user" in roles for roles in anthropic.values())
    # With vertex, agent_turn mounts no secret, so it may read none.
    assert "roles/secretmanager.secretAccessor" not in vertex["agent_turn"]
    assert "roles/secretmanager.secretAccessor" in anthropic["agent_turn"]


def test_the_wiring_grants_what_effective_grants_assumes():
    # One service account per function, with the project roles from locals only.
    function_sa = module_call("function_sa")
    assert function_sa["for_each"] == "${local.functions}"
    assert function_sa["name"] == "${local.function_names[each.key]}"
    assert "local.function_project_roles" in function_sa["project_roles"]
    assert "local.extra_project_roles" in function_sa["project_roles"]
    assert "local.firebase_functions" in function_sa["token_creator_self"]
    for name in ("tasks_sa", "push_sa"):
        assert "project_roles" not in module_call(name), f"{name} needs no project role"
    # Resource-level grants follow local.access.
    pubsub = module_call("pubsub")
    assert "if contains(a.publish, k)" in pubsub["topics"]
    assert "if contains(a.subscribe, k)" in pubsub["subscriptions"]
    iam = module_call("buckets")["iam"]
    assert 'role = "roles/storage.objectUser"' in iam and "contains(a.buckets_write" in iam
    assert 'role = "roles/storage.objectViewer"' in iam and "contains(a.buckets_read" in iam
    assert "if contains(a.enqueue, each.key)" in module_call("queues")["enqueuers"]
    assert "local.enqueuing_functions" in module_call("tasks_sa")["users"]
    # The access-log writer and the key users are granted on that one bucket and those keys.
    (writer,) = [b for p, n, b in resources("google_storage_bucket_iam_member") if p.parent == TF]
    assert writer["bucket"] == "${google_storage_bucket.access_logs.name}"
    assert writer["member"] == "group:cloud-storage-analytics@google.com"
    (key_users,) = resources("google_kms_crypto_key_iam_member")
    assert key_users[2]["crypto_key_id"] == "${each.value.key}"
    assert "local.kms_grants" in key_users[2]["for_each"]
    # Only the public function is open to allUsers.
    invokers = module_call("functions")["invokers"].replace(" ", "")
    assert 'contains(local.public_functions,each.key)?{public="allUsers"}' in invokers
    assert all_tf_text().count('"allUsers"') == 1


def test_iam_is_additive_and_every_role_in_the_code_is_allow_listed():
    allowed = set().union(*ALLOWED_ROLES.values())
    for path, rtype, name, body in blocks("resource"):
        if "_iam_" in rtype:
            assert rtype.endswith("_iam_member"), f"{path}: {rtype} is authoritative"
            role = body["role"]
            if not role.startswith("${"):
                assert role in allowed, f"{path}: {rtype}.{name} grants {role}"
            if rtype == "google_project_iam_member" and role != "${each.value}":
                # A literal project-level grant must be narrowed by an IAM condition.
                (condition,) = body["condition"]
                assert condition["expression"].strip(), f"{path}: {name} is unconditional"
    for role in roles_in_code():
        assert role in allowed, f"{role} appears in terraform/ but is not allow-listed"
    for role in module_call("build_sa")["project_roles"] + root_locals()["function_project_roles"]:
        assert role in PROJECT_WIDE_ALLOWED, role
    extra = set(re.findall(ROLE, root_locals()["extra_project_roles"]))
    assert extra <= PROJECT_WIDE_ALLOWED and "roles/aiplatform.user" in extra


def test_access_names_only_declared_resources():
    for fn, a in _access().items():
        assert set(a["publish"]) <= set(RES["topics"]), fn
        assert set(a["subscribe"]) <= set(RES["subscriptions"]), fn
        assert set(a["buckets_write"] + a["buckets_read"]) <= set(RES["buckets"]), fn
        assert set(a["enqueue"]) <= set(RES["queues"]), fn
    assert set(root_locals()["access"]) <= set(RES["functions"])


# ------------------------------------------------------------------- functions and settings


def test_functions_get_the_settings_they_read():
    env_expr = root_locals().get("function_env") or next(
        entry["function_env"]
        for path in tf_files(TF)
        if path.parent == TF
        for entry in parsed(path).get("locals", [])
        if "function_env" in entry
    )
    settings_src = (REPO / "shared" / "cloudswarm" / "settings.py").read_text()
    for env in (
        "GOOGLE_CLOUD_PROJECT",
        "CLOUDSWARM_PREFIX",
        "CLOUDSWARM_REGION",
        "CLOUDSWARM_DISPATCH_URL",
        "CLOUDSWARM_DISPATCH_SA",
        "CLOUDSWARM_MODEL_PROVIDER",
        "CLOUDSWARM_VERTEX_REGION",
    ):
        assert f"{env} =" in env_expr, f"functions are not given {env}"
        assert f'"{env}"' in settings_src, f"settings.py does not read {env}"
    assert "CLOUDSWARM_DISPATCH_URL = local.dispatch_url" in env_expr
    assert "CLOUDSWARM_DISPATCH_SA = module.tasks_sa.email" in env_expr
    assert "CLOUDSWARM_MODEL_PROVIDER = var.model_provider" in env_expr
    assert "CLOUDSWARM_VERTEX_REGION = var.vertex_region" in env_expr
    # The URL the functions are told is the task_dispatch URL Cloud Functions assigns.
    assert root_locals()["function_urls"].endswith(
        '"https://${var.region}-${var.project_id}.cloudfunctions.net/${n}"}}'
    )
    assert "check" in parsed(TF / "functions.tf")


def test_firestore_indexes_rules_and_hosting():
    indexes = json.loads((TF / "firestore.indexes.json").read_text())["indexes"]
    got = {
        (i["collectionGroup"], tuple((f["fieldPath"], f["order"]) for f in i["fields"]))
        for i in indexes
    }
    want = {
        ("messages", (("to", "ASCENDING"), ("read", "ASCENDING"), ("created_at", "ASCENDING"))),
        ("tasks", (("owner", "ASCENDING"), ("status", "ASCENDING"), ("created_at", "DESCENDING"))),
        ("tasks", (("status", "ASCENDING"), ("created_at", "DESCENDING"))),
        ("swarms", (("status", "ASCENDING"), ("created_at", "DESCENDING"))),
        ("approvals", (("status", "ASCENDING"), ("created_at", "DESCENDING"))),
    }
    assert want <= got
    assert "local.firestore_indexes" in module_call("firestore")["indexes"]
    # Spent API records expire by TTL policy, on the field the code writes.
    ttl = json.loads((TF / "firestore.indexes.json").read_text())["ttlFields"]
    assert {(f["collectionGroup"], f["fieldPath"]) for f in ttl} == {
        ("rate_limits", "expires_at"),
        ("revoked_tokens", "expires_at"),
        ("webhook_deliveries", "expires_at"),
    }
    assert "local.firestore_ttl_fields" in module_call("firestore")["ttl_fields"]
    field = module_resource("firestore", "google_firestore_field", "ttl")
    assert field["ttl_config"] == [{}] and field["index_config"] == [{}]
    # The rules released are the file the Firestore emulator enforces locally.
    rules = re.fullmatch(
        r'\$\{file\("\$\{path\.module\}/(.+)"\)\}', root_locals()["firestore_rules"]
    )
    assert rules and (TF / rules.group(1)).resolve() == (REPO / "firestore.rules").resolve()
    assert module_call("firestore")["rules"] == "${local.firestore_rules}"
    release = module_resource("firestore", "google_firebaserules_release", "firestore")
    assert "cloud.firestore" in release["name"]
    database = module_resource("firestore", "google_firestore_database", "database")
    assert database["type"] == "FIRESTORE_NATIVE"
    assert resources("google_firebase_hosting_site")


def test_budget_engages_the_kill_switch_and_alerts_exist():
    budget = module_resource("billing-budget", "google_billing_budget", "budget")
    (rule,) = budget["all_updates_rule"]
    assert "var.topic_name" in rule["pubsub_topic"]
    assert "local.budget_topic" in module_call("budget")["topic_name"]
    assert "kill_switch_threshold" in module_call("budget")["kill_switch_threshold"]
    env = parsed(TF / "functions.tf")["locals"][0]["function_env"]
    assert "CLOUDSWARM_BUDGET_KILL_THRESHOLD" in env
    policies = {n for p, n, b in resources("google_monitoring_alert_policy")}
    assert policies == {"dead_letters", "function_errors", "model_spend"}
    dead = module_resource("monitoring", "google_monitoring_alert_policy", "dead_letters")
    assert "dead_letter_message_count" in json.dumps(dead)


def test_required_apis_are_enabled():
    services = module_call("services")["services"]
    for api in (
        "cloudfunctions.googleapis.com",
        "run.googleapis.com",
        "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com",
        "pubsub.googleapis.com",
        "firestore.googleapis.com",
        "firebaserules.googleapis.com",
        "cloudtasks.googleapis.com",
        "cloudscheduler.googleapis.com",
        "secretmanager.googleapis.com",
        "storage.googleapis.com",
        "monitoring.googleapis.com",
        "firebasehosting.googleapis.com",
        "billingbudgets.googleapis.com",
    ):
        assert api in services, api


# ------------------------------------------------------------------- keys, buckets, the scan


def _root_variable(name: str) -> dict:
    (body,) = [b for p, n, b in blocks("variable") if n == name and p.parent == TF]
    return body


def _key_validation(variable: dict) -> str:
    """The regex the variable's validation holds keys to, as Python reads it."""
    for validation in variable["validation"]:
        match = re.search(r'regex\("(\^projects/.+?)", k\)', validation["condition"])
        if match:
            return match.group(1).replace("\\\\", "\\")
    raise AssertionError("no validation of the key ids")


def test_the_encryption_variable_is_optional_typed_and_validated():
    encryption = _root_variable("encryption")
    for field in ("kms_key", "firestore_kms_key", "secrets_kms_key"):
        assert f"{field} = optional(string)" in encryption["type"], field
    assert "grant_service_agents = optional(bool, true)" in encryption["type"]
    assert encryption["default"] == {}, "null keys (Google-managed) must be the default"
    pattern = _key_validation(encryption)
    assert pattern == KMS_KEY_PATTERN
    assert re.fullmatch(pattern, "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k")
    for bad in ("projects/p/keyRings/r/cryptoKeys/k", "k", "projects/p/locations/l/keyRings/r"):
        assert not re.fullmatch(pattern, bad), bad
    conditions = " ".join(v["condition"] for v in encryption["validation"])
    assert '"/locations/global/"' in conditions, "a secrets key outside global is accepted"
    # The locals every module reads its key from.
    assert root_locals()["kms_key"] == "${var.encryption.kms_key}"
    assert root_locals()["secrets_kms_key"] == "${var.encryption.secrets_kms_key}"
    assert "var.encryption.firestore_kms_key" in root_locals()["firestore_kms_key"]
    # A key that cannot serve its resources fails the plan, not the apply halfway.
    (guard,) = [b for p, n, b in resources("terraform_data") if n == "encryption"]
    (lifecycle,) = guard["lifecycle"]
    conditions = " ".join(c["condition"] for c in lifecycle["precondition"])
    assert "/locations/${var.region}/" in conditions
    assert "local.firestore_location == var.region" in conditions


def nested_dynamic(node, name: str) -> dict | None:
    """The dynamic block `name` anywhere inside a body (nested blocks included)."""
    if isinstance(node, dict):
        found = dynamic_block(node, name)
        if found:
            return found
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            found = nested_dynamic(child, name)
            if found:
                return found
    return None


def test_every_resource_that_takes_a_key_is_wired_to_the_variable():
    # Inside the modules and in the root: every resource of a keyed type uses a key from the
    # variable, and none is left out (a new bucket or topic must take one too). A null key leaves
    # the attribute null or the block out: Google-managed keys.
    for rtype, attr in KEYED_RESOURCES.items():
        found = resources(rtype)
        assert found, f"no {rtype} anywhere"
        for path, name, body in found:
            where = f"{path.relative_to(REPO)}: {rtype}.{name}"
            key = "${var.kms_key}" if path.parent != TF else "${local.kms_key}"
            if attr == "kms_key_name":
                assert body.get(attr) == key, f"{where}: kms_key_name is {body.get(attr)!r}"
            else:
                dyn = nested_dynamic(body, attr)
                assert dyn, f"{where}: no dynamic {attr} block"
                given = key.removeprefix("${").removesuffix("}")
                if rtype == "google_firestore_database":
                    given = "var.database.kms_key"
                assert dyn["for_each"] == f"${{{given} == null ? [] : [{given}]}}", where
    # The modules that take a key are handed the right one by every call.
    for path, name, body in blocks("module", TF):
        if path.parent != TF:
            continue
        module_dir = (TF / body["source"]).resolve()
        module_vars = {n for p, n, b in blocks("variable", module_dir)}
        if "kms_key" in module_vars:
            want = "${local.secrets_kms_key}" if name == "secrets" else "${local.kms_key}"
            assert body.get("kms_key") == want, f"module {name} is not given its key"
    assert module_call("firestore")["database"]["kms_key"] == "${local.firestore_kms_key}"
    # The functions' key and their image repository's are the same, as Cloud Functions requires.
    (repo,) = resources("google_artifact_registry_repository")
    assert repo[2]["kms_key_name"] == module_call("functions")["kms_key"] == "${local.kms_key}"


def test_every_service_agent_that_encrypts_may_use_its_key():
    grants = root_locals()["kms_grants"]
    wanted = {
        "local.kms_key": ("storage", "pubsub", "artifactregistry", "cloudfunctions", "cloudrun"),
        "local.firestore_kms_key": ("firestore",),
        "local.secrets_kms_key": ("secretmanager",),
    }
    for key, labels in wanted.items():
        for label in labels:
            assert f"{label} = {{key = {key}," in grants, f"{label} is not granted {key}"
    for agent in (
        "data.google_storage_project_service_account.gcs.email_address",
        "local.pubsub_agent_member",
        "@gcf-admin-robot.iam.gserviceaccount.com",
        "@serverless-robot-prod.iam.gserviceaccount.com",
    ):
        assert agent in grants, agent
    (path, _name, grant) = resources("google_kms_crypto_key_iam_member")[0]
    assert grant["for_each"] == "${var.encryption.grant_service_agents ? local.kms_grants : {}}"
    assert grant["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    # Agents that exist only once asked for are created by module.services when a key needs them.
    assert "local.cmek_service_agents" in module_call("services")["service_agents"]
    # Nothing that uses a key is created before its agents may use it.
    grant_ref = "${google_kms_crypto_key_iam_member.service_agents}"
    for name in ("buckets", "sources_bucket", "pubsub", "functions", "firestore", "secrets"):
        assert grant_ref in module_call(name)["depends_on"], f"module {name}"
    for rtype in ("google_artifact_registry_repository", "google_storage_bucket"):
        for path, name, body in resources(rtype):
            if path.parent == TF:
                assert grant_ref in body["depends_on"], f"{rtype}.{name}"


def test_every_bucket_is_versioned_and_logs_its_access_to_the_access_log_bucket():
    bucket = module_resource("gcs", "google_storage_bucket", "bucket")
    assert bucket["versioning"] == [{"enabled": True}], "versioning must not be optional"
    assert bucket["logging"] == [{"log_bucket": "${var.access_log_bucket}"}]
    (variable,) = [b for p, n, b in blocks("variable", MODULES / "gcs") if n == "access_log_bucket"]
    assert "default" not in variable, "a bucket of the module must not be able to skip logging"
    noncurrent = [
        r for r in bucket["lifecycle_rule"] if "days_since_noncurrent_time" in r["condition"][0]
    ]
    assert noncurrent, "noncurrent generations would be kept forever"
    # Every call: the transcripts and artifacts (user data) and the build inputs.
    calls = [b for p, n, b in blocks("module", TF) if p.parent == TF and "gcs" in b["source"]]
    for call in calls:
        assert call["access_log_bucket"] == "${google_storage_bucket.access_logs.name}", call
        assert call["noncurrent_delete_days"] == "${var.buckets.noncurrent_delete_days}"
        assert "versioning" not in call
    # The access-log bucket: private, versioned, expiring, and not logging itself.
    (logs,) = [b for p, n, b in resources("google_storage_bucket") if n == "access_logs"]
    assert logs["uniform_bucket_level_access"] is True
    assert logs["public_access_prevention"] == "enforced"
    assert logs["versioning"] == [{"enabled": True}]
    assert "logging" not in logs
    conditions = [r["condition"][0] for r in logs["lifecycle_rule"]]
    assert {"age": "${var.buckets.access_log_days}"} in conditions
    assert {"days_since_noncurrent_time": "${var.buckets.noncurrent_delete_days}"} in conditions
    assert "buckets.versioning" not in all_tf_text()


CHECKOV_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_checkov_runs_in_lint_and_every_skip_is_inline_with_a_reason():
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^lint:.*?\n((?:\t.*\n)+)", makefile, re.M).group(1)
    lint = recipe[recipe.index("CKV_") :]  # the checkov command, continuation lines included
    assert "bin/checkov" in lint and "--directory terraform" in lint and "--skip-download" in lint
    assert "CKV_PARSE_ERROR_FAIL=true" in lint, "a file checkov cannot parse would pass unseen"
    for loosener in ("--soft-fail", "--skip-check", "--check ", "--baseline", "--config-file"):
        assert loosener not in lint, f"lint runs checkov with {loosener}"
    lock = (TF / "checkov-requirements.lock").read_text().splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert any(line.startswith("checkov==") for line in pins)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", p) for p in pins), pins
    # No global configuration that could skip checks out of sight.
    for config in (".checkov.yaml", ".checkov.yml"):
        assert not (REPO / config).exists() and not (TF / config).exists(), config
    skips = []
    for path in tf_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = CHECKOV_SKIP.search(line)
            if match:
                where = f"{path.relative_to(REPO)}:{number}"
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 30, f"{where}: skip {match.group(1)} without a reason"
                skips.append((match.group(1), path.name))
    # The skips are exactly the ones reviewed: optional keys, and the log bucket not logging itself.
    assert sorted(skips) == [
        ("CKV_GCP_62", "data.tf"),
        ("CKV_GCP_83", "main.tf"),
        ("CKV_GCP_84", "functions.tf"),
    ]


def test_tracing_is_cloud_trace_by_default_and_grants_only_the_trace_writer_role():
    (var,) = [b for p, n, b in blocks("variable") if n == "tracing" and p.parent == TF]
    assert var["type"] == "string" and var["default"] == "cloud"
    (validation,) = var["validation"]
    assert validation["condition"] == '${contains(["cloud", "off"], var.tracing)}'
    # Every value Terraform accepts is a mode the settings accept.
    for mode in ("cloud", "off"):
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "CLOUDSWARM_TRACING": mode})
    (content,) = [b for p, n, b in blocks("variable") if n == "trace_content" and p.parent == TF]
    assert content["type"] == "bool" and content["default"] is False
    env = root_locals()["function_env"]
    assert "CLOUDSWARM_TRACING = var.tracing" in env
    assert 'CLOUDSWARM_TRACE_CONTENT = var.trace_content ? "1" : "0"' in env
    services = module_call("services")["services"]
    assert 'var.tracing == "cloud" ? ["cloudtrace.googleapis.com"] : []' in services
    on, off = effective_grants(tracing="cloud"), effective_grants(tracing="off")
    assert {p for p, roles in on.items() if TRACE_ROLE in roles} == set(RES["functions"])
    assert not any(TRACE_ROLE in roles for roles in off.values())
