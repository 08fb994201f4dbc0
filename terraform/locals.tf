locals {
  # THE declaration of topics, subscriptions, buckets, queues, secrets and functions. emulators/
  # bootstraps the same file locally, so local and cloud cannot drift: change a name there.
  resources = jsondecode(file("${path.module}/../shared/cloudswarm/resources.json"))

  functions     = local.resources.functions
  topics        = local.resources.topics
  subscriptions = local.resources.subscriptions
  buckets       = local.resources.buckets
  queues        = local.resources.queues
  # Every declared secret, and those this deployment creates: a secret that only one model
  # provider uses exists only with that provider. Vertex AI takes the runtime service account as
  # its credential, so with model_provider = "vertex" there is no anthropic-api-key at all.
  declared_secrets      = local.resources.secrets
  provider_only_secrets = { "anthropic-api-key" = "anthropic" }
  secrets = {
    for k, v in local.declared_secrets : k => v if lookup(local.provider_only_secrets, k, var.model_provider) == var.model_provider
  }

  # The naming rule of shared/cloudswarm/names.py (a structural test checks they agree).
  topic_names        = { for k in keys(local.topics) : k => "${var.prefix}-${k}" }
  subscription_names = { for k in keys(local.subscriptions) : k => "${var.prefix}-${k}" }
  queue_names        = { for k in keys(local.queues) : k => "${var.prefix}-${k}" }
  secret_names       = { for k in keys(local.secrets) : k => "${var.prefix}-${k}" }
  bucket_names       = { for k in keys(local.buckets) : k => "${var.project_id}-${var.prefix}-${k}" }

  # Names only the deployment has. A function's Cloud Run service and its runtime service account
  # share its name; the entry point keeps the Python name.
  function_names          = { for k in keys(local.functions) : k => "${var.prefix}-${replace(k, "_", "-")}" }
  sources_bucket_name     = "${var.project_id}-${var.prefix}-sources"
  access_logs_bucket_name = "${var.project_id}-${var.prefix}-access-logs"
  tasks_sa_name           = "${var.prefix}-tasks"
  push_sa_name            = "${var.prefix}-push"
  build_sa_name           = "${var.prefix}-build"
  repository_name         = "${var.prefix}-functions"
  sweep_job_name          = "${var.prefix}-watchdog-sweep"
  site_id                 = coalesce(var.hosting.site_id, "${var.project_id}-${var.prefix}")

  # A 2nd gen function's cloudfunctions.net URL is fixed by region, project and name, so the
  # functions that enqueue Cloud Tasks can be told where task_dispatch lives before it exists.
  function_urls     = { for k, n in local.function_names : k => "https://${var.region}-${var.project_id}.cloudfunctions.net/${n}" }
  queue_targets     = toset([for q in values(local.queues) : q.target_function])
  dispatch_function = one(local.queue_targets)
  dispatch_url      = local.function_urls[local.dispatch_function]

  push_targets = toset(compact([for s in values(local.subscriptions) : try(s.push_function, null)]))
  # Public: HTTP functions that nothing inside GCP calls (the API, with its own JWT auth), unless
  # resources.json says otherwise with "public".
  public_functions = toset([
    for k, f in local.functions : k if try(f.public, f.kind == "http" && !contains(local.queue_targets, k))
  ])

  # Budget notifications land on this declared topic; a push subscription on it (resources.json)
  # delivers them to the function that engages the kill switch.
  budget_topic     = "budget-alerts"
  budget_consumers = toset([for s in values(local.subscriptions) : s.push_function if s.topic == local.budget_topic && try(s.push_function, null) != null])

  # Least privilege: what each function may touch besides Firestore, by logical name. Firestore
  # has no IAM finer than the project, so every function gets roles/datastore.user and nothing
  # else project-wide. A function not listed here (a new entry point) gets Firestore only.
  function_project_roles = ["roles/datastore.user"]
  # The api mints the Firebase custom tokens the web UI reads Firestore with (signed through IAM
  # signBlob as itself) and revokes a revoked key's UI sessions (Firebase Auth admin).
  firebase_functions = var.hosting.enabled ? toset(["api"]) : toset([])
  # The functions that call the model are those resources.json gives the Anthropic key. On Vertex
  # AI they call it as themselves instead: roles/aiplatform.user, project-wide, since Vertex has no
  # finer IAM for publisher models.
  model_functions  = toset([for k, f in local.functions : k if contains(f.secrets, "anthropic-api-key")])
  vertex_functions = var.model_provider == "vertex" ? local.model_functions : toset([])
  extra_project_roles = {
    for k in keys(local.functions) : k => concat(
      contains(local.firebase_functions, k) ? ["roles/firebaseauth.admin"] : [],
      contains(local.vertex_functions, k) ? ["roles/aiplatform.user"] : [],
      # Every function writes its spans to Cloud Trace (CLOUDSWARM_TRACING=cloud); the role only
      # lets it write traces, and Cloud Trace has no IAM finer than the project.
      var.tracing == "cloud" ? ["roles/cloudtrace.agent"] : [],
    )
  }
  access = {
    agent_turn = {
      publish       = ["agent-doorbell"]
      buckets_write = ["transcripts", "artifacts"]
      enqueue       = ["agent-retries"]
    }
    swarm_trigger = {
      # A malformed request is acknowledged and republished to its dead-letter topic by hand.
      publish = ["agent-doorbell", "swarm-requests-dead"]
    }
    task_dispatch = {
      publish = ["agent-doorbell"]
      enqueue = ["agent-retries"]
    }
    api = {
      publish      = ["agent-doorbell"]
      subscribe    = ["agent-doorbell-dead-pull", "swarm-requests-dead-pull"]
      buckets_read = ["transcripts", "artifacts"]
    }
  }
  no_access = { publish = [], subscribe = [], buckets_write = [], buckets_read = [], enqueue = [] }
  function_access = {
    for k in keys(local.functions) : k => merge(local.no_access, try(local.access[k], {}))
  }
  enqueuing_functions = toset([for k, a in local.function_access : k if length(a.enqueue) > 0])

  # Secret env vars per function: env var name => logical secret, for the secrets this deployment
  # creates. Indexing local.declared_secrets fails the plan for a secret resources.json lacks.
  function_secret_env = {
    for fk, f in local.functions : fk => {
      for s in f.secrets : local.declared_secrets[s].env => s if contains(keys(local.secrets), s) && !contains(var.unset_optional_secrets, s)
    }
  }
  secret_env_names = toset([for s in values(local.secrets) : s.env])

  firestore_indexes         = jsondecode(file("${path.module}/firestore.indexes.json")).indexes
  firestore_field_overrides = jsondecode(file("${path.module}/firestore.indexes.json")).fieldOverrides
  firestore_ttl_fields      = jsondecode(file("${path.module}/firestore.indexes.json")).ttlFields
  firestore_rules           = file("${path.module}/../firestore.rules")

  bundle_path   = coalesce(var.functions.bundle_path, "${path.module}/../dist/functions/functions.zip")
  bundle_sha256 = filesha256(local.bundle_path)

  labels = merge({ application = "cloudswarm", cloudswarm-prefix = var.prefix }, var.labels)
}
