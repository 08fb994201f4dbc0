# The functions: one Cloud Functions (2nd gen) function per entry point in resources.json, all
# built from the one bundle `make bundle` produces (functions/main.py + the cloudswarm package).

resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:CMEK is optional (var.encryption.kms_key); its default, null, means Google-managed keys, which checkov cannot see
  project       = var.project_id
  location      = var.region
  repository_id = local.repository_name
  format        = "DOCKER"
  description   = "Images of the CloudSwarm functions (${var.prefix}), built by Cloud Build."
  # The functions' key: a function with a key must push to a repository with the same one.
  kms_key_name = local.kms_key

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = module.build_sa.member
}

# Cloud Functions copies each deployed bundle into its own gcf-v2-sources-* bucket and builds from
# there; the bucket does not exist before the first deploy, so the grant is conditional on the name.
resource "google_project_iam_member" "build_sources_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = module.build_sa.member
  condition {
    title       = "function-sources-only"
    description = "Only the Cloud Functions source buckets (gcf-v2-sources-*)."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}

module "sources_bucket" {
  source                = "./modules/gcs"
  project_id            = var.project_id
  name                  = local.sources_bucket_name
  location              = var.region
  lifecycle_delete_days = 90
  # Only build inputs live here, and `make bundle` recreates them (versioned like every bucket of
  # the module: it only keeps a deleted bundle for noncurrent_delete_days).
  noncurrent_delete_days = var.buckets.noncurrent_delete_days
  access_log_bucket      = google_storage_bucket.access_logs.name
  kms_key                = local.kms_key
  force_destroy          = true
  iam = {
    build_read = { role = "roles/storage.objectViewer", member = module.build_sa.member }
  }
  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}

# The object name carries the bundle's hash: a new bundle is a new object, which redeploys the
# functions; the same source gives the same bytes and changes nothing.
resource "google_storage_bucket_object" "bundle" {
  bucket = module.sources_bucket.name
  name   = "functions-${local.bundle_sha256}.zip"
  source = local.bundle_path
}

locals {
  function_env = merge(
    var.functions.env,
    var.functions.default_model == null ? {} : { CLOUDSWARM_DEFAULT_MODEL = var.functions.default_model },
    var.budget == null ? {} : { CLOUDSWARM_BUDGET_KILL_THRESHOLD = tostring(var.budget.kill_switch_threshold) },
    var.model_provider == "vertex" ? { CLOUDSWARM_VERTEX_REGION = var.vertex_region } : {},
    {
      GOOGLE_CLOUD_PROJECT    = var.project_id
      CLOUDSWARM_PREFIX       = var.prefix
      CLOUDSWARM_REGION       = var.region
      CLOUDSWARM_DISPATCH_URL = local.dispatch_url
      CLOUDSWARM_DISPATCH_SA  = module.tasks_sa.email
      # anthropic: the key from Secret Manager; vertex: the runtime service account.
      CLOUDSWARM_MODEL_PROVIDER = var.model_provider
      # Each turn's span tree, to Cloud Trace; prompts and answers in it only if asked for.
      CLOUDSWARM_TRACING       = var.tracing
      CLOUDSWARM_TRACE_CONTENT = var.trace_content ? "1" : "0"
    },
  )
}

module "functions" {
  source                = "./modules/cloud-function"
  for_each              = local.functions
  project_id            = var.project_id
  region                = var.region
  name                  = local.function_names[each.key]
  description           = "CloudSwarm ${each.key} (${each.value.kind})"
  entry_point           = each.key
  runtime               = var.functions.runtime
  build_service_account = module.build_sa.id
  docker_repository     = google_artifact_registry_repository.functions.id
  kms_key               = local.kms_key
  service_account_email = module.function_sa[each.key].email
  source_archive = {
    bucket = module.sources_bucket.name
    object = google_storage_bucket_object.bundle.name
  }
  config = {
    memory        = each.value.memory
    timeout_s     = each.value.timeout_s
    max_instances = each.value.max_instances
    min_instances = lookup(var.functions.min_instances, each.key, 0)
    concurrency   = lookup(var.functions.concurrency, each.key, 1)
  }
  # Pub/Sub, Cloud Tasks and Cloud Scheduler in the same project count as internal traffic.
  ingress_settings = contains(local.public_functions, each.key) ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
  environment_variables = merge(
    local.function_env,
    contains(local.firebase_functions, each.key) ? { CLOUDSWARM_FIREBASE_SERVICE_ACCOUNT = module.function_sa[each.key].email } : {},
  )
  secret_environment_variables = {
    for env, secret in local.function_secret_env[each.key] : env => { secret_id = module.secrets.secret_ids[secret] }
  }
  invokers = merge(
    contains(local.public_functions, each.key) ? { public = "allUsers" } : {},
    contains(local.push_targets, each.key) ? { pubsub_push = module.push_sa.member } : {},
    contains(local.queue_targets, each.key) ? { tasks = module.tasks_sa.member } : {},
  )
  labels = { cloudswarm-function = replace(each.key, "_", "-") }

  # The runtime account must be able to read its secrets and the builder its inputs before a deploy.
  depends_on = [
    module.secrets,
    module.sources_bucket,
    google_artifact_registry_repository_iam_member.build_writer,
    google_project_iam_member.build_sources_reader,
    module.build_sa,
    terraform_data.declaration,
    google_kms_crypto_key_iam_member.service_agents,
  ]
}

check "dispatch_url" {
  assert {
    condition     = module.functions[local.dispatch_function].url == local.dispatch_url
    error_message = "task_dispatch is at ${module.functions[local.dispatch_function].url}, not at the CLOUDSWARM_DISPATCH_URL the functions were given (${local.dispatch_url})."
  }
}
