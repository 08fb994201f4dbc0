output "api_url" {
  description = "URL of the api function (also served under /api on the web UI's site)."
  value       = try(module.functions["api"].url, null)
}

output "web_url" {
  description = "URL of the web UI (Firebase Hosting), or null when hosting is disabled."
  value       = try(module.hosting[0].url, null)
}

output "hosting" {
  description = "What scripts/deploy.sh needs to publish the UI: site id, the api's Cloud Run service and region for the /api/** rewrite, and the Firebase web config."
  value = var.hosting.enabled ? {
    site_id     = module.hosting[0].site_id
    api_service = try(module.functions["api"].name, null)
    region      = var.region
    web_config  = module.hosting[0].web_config
  } : null
}

output "functions" {
  description = "Per entry point: concrete name, URL, run.app URI and runtime service account."
  value = {
    for k, f in module.functions : k => {
      name            = f.name
      url             = f.url
      uri             = f.uri
      service_account = module.function_sa[k].email
    }
  }
}

output "dispatch" {
  description = "Where Cloud Tasks deliver (CLOUDSWARM_DISPATCH_URL), the account their OIDC tokens name (CLOUDSWARM_DISPATCH_SA), and the Cloud Scheduler jobs (the sweep; the schedules by name)."
  value = {
    url             = local.dispatch_url
    service_account = module.tasks_sa.email
    sweep_job       = google_cloud_scheduler_job.watchdog_sweep.name
    schedule_jobs   = { for k, j in google_cloud_scheduler_job.schedules : k => j.name }
  }
}

output "names" {
  description = "Concrete names by logical name, as cloudswarm.names computes them."
  value = {
    topics        = local.topic_names
    subscriptions = local.subscription_names
    queues        = local.queue_names
    secrets       = local.secret_names
    buckets       = local.bucket_names
  }
}

output "secrets" {
  description = "Secrets to fill out of band: secret id, the env var it becomes, whether it is required, and whether it is mounted."
  value = {
    for k, s in local.secrets : k => {
      secret_id = module.secrets.secret_ids[k]
      env       = s.env
      required  = s.required
      mounted   = !contains(var.unset_optional_secrets, k)
    }
  }
}

output "firestore_database" {
  description = "The Firestore database name."
  value       = module.firestore.name
}

output "bundle_object" {
  description = "gs:// path of the deployed function source bundle."
  value       = "gs://${module.sources_bucket.name}/${google_storage_bucket_object.bundle.name}"
}

output "budget" {
  description = "Budget id and thresholds, or null when no budget is configured."
  value       = var.budget == null ? null : { id = module.budget[0].id, thresholds = module.budget[0].thresholds, kill_switch_threshold = var.budget.kill_switch_threshold, topic = module.pubsub.topics[local.budget_topic].name }
}
