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
from cloudswarm.settings import Settings

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
}
# A function added to resources.json without an entry above may have Firestore and nothing else.
DEFAULT_FUNCTION_ROLES = {"roles/datastore.user"}
PROJECT_WIDE_ALLOWED = {
    "roles/datastore.user",
    "roles/logging.logWriter",
    "roles/firebaseauth.admin",
}
# Names only the deployment has (no local counterpart), so they are not in resources.json.
DEPLOY_ONLY_BUCKETS = {"sources"}
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


def test_terraform_fmt_check():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed here (fmt is checked where it is)")
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
    for kind in ("functions", "topics", "subscriptions", "buckets", "queues", "secrets"):
        assert root_locals()[kind] == f"${{local.resources.{kind}}}"
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


def test_secret_env_vars_are_wired_from_declared_secrets_only():
    secret_env = root_locals()["function_secret_env"]
    # Indexing local.secrets with each name a function lists fails the plan for an undeclared one.
    assert "for fk, f in local.functions" in secret_env
    assert "for s in f.secrets : local.secrets[s].env => s" in secret_env

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
    assert "local.secret_env_names" in json.dumps(resources("terraform_data")[0][2])
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
    (job,) = [b for p, n, b in resources("google_cloud_scheduler_job")]
    assert job["retry_config"]
    (target,) = job["http_target"]
    assert target["http_method"] == "POST"
    assert target["uri"].endswith("/sweep")
    assert target["oidc_token"][0]["service_account_email"] == "${module.tasks_sa.email}"


# -------------------------------------------------------------------------------- IAM


def _access() -> dict[str, dict[str, list[str]]]:
    access = root_locals()["access"]
    keys = ("publish", "subscribe", "buckets_write", "buckets_read", "enqueue")
    return {fn: {k: access.get(fn, {}).get(k, []) for k in keys} for fn in RES["functions"]}


def effective_grants() -> dict[str, set[str]]:
    """Roles per principal, following the wiring the other assertions in this file pin down."""
    grants: dict[str, set[str]] = defaultdict(set)
    project_roles = root_locals()["function_project_roles"]
    extra = root_locals()["extra_project_roles"]
    extra_roles = set(re.findall(ROLE, extra))
    firebase_fns = set(re.findall(r'"(\w+)"', root_locals()["firebase_functions"]))
    for fn, spec in RES["functions"].items():
        grants[fn] |= set(project_roles)
        if fn in firebase_fns:
            grants[fn] |= extra_roles | {"roles/iam.serviceAccountTokenCreator"}
        if spec["secrets"]:
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
    return grants


def test_every_service_account_holds_only_allow_listed_roles():
    for principal, roles in effective_grants().items():
        allowed = ALLOWED_ROLES.get(principal, DEFAULT_FUNCTION_ROLES)
        assert roles <= allowed, f"{principal} would hold {sorted(roles - allowed)}"


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
    assert extra <= PROJECT_WIDE_ALLOWED


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
    ):
        assert f"{env} =" in env_expr, f"functions are not given {env}"
        assert f'"{env}"' in settings_src, f"settings.py does not read {env}"
    assert "CLOUDSWARM_DISPATCH_URL = local.dispatch_url" in env_expr
    assert "CLOUDSWARM_DISPATCH_SA = module.tasks_sa.email" in env_expr
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
