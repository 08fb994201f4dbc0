# One Cloud Functions (2nd gen) function: built from a source archive in GCS by its own build
# service account into a given Artifact Registry repository, run as its own service account, with
# secrets injected from Secret Manager. A 2nd gen function is a Cloud Run service of the same name,
# so invocation rights are roles/run.invoker on that service.

resource "google_cloudfunctions2_function" "function" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = var.description
  labels      = var.labels
  # Source, image and instances; the docker repository must use the same key.
  kms_key_name = var.kms_key

  build_config {
    runtime           = var.runtime
    entry_point       = var.entry_point
    service_account   = var.build_service_account
    docker_repository = var.docker_repository
    source {
      storage_source {
        bucket = var.source_archive.bucket
        object = var.source_archive.object
      }
    }
  }

  service_config {
    available_memory                 = var.config.memory
    available_cpu                    = var.config.cpu
    timeout_seconds                  = var.config.timeout_s
    max_instance_count               = var.config.max_instances
    min_instance_count               = var.config.min_instances
    max_instance_request_concurrency = var.config.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = var.service_account_email
    environment_variables            = var.environment_variables

    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret_id
        version    = secret_environment_variables.value.version
      }
    }
  }
}

resource "google_cloud_run_service_iam_member" "invokers" {
  for_each = var.invokers
  project  = var.project_id
  location = google_cloudfunctions2_function.function.location
  service  = google_cloudfunctions2_function.function.name
  role     = "roles/run.invoker"
  member   = each.value
}
