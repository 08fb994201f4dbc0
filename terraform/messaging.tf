# Pub/Sub, Cloud Tasks and the watchdog sweep.
#
# Push subscriptions rather than Eventarc triggers: an Eventarc trigger creates and owns its own
# subscription, which can carry neither the dead-letter topic nor the retry policy nor the name
# resources.json declares. Our subscriptions push the same body the local emulator pushes, so the
# CloudEvent entry points see identical requests locally and in the cloud.

module "pubsub" {
  source               = "./modules/pubsub"
  project_id           = var.project_id
  service_agent_member = local.pubsub_agent_member
  kms_key              = local.kms_key
  labels               = local.labels
  topics = {
    for k, t in local.topics : k => {
      name        = local.topic_names[k]
      retention_s = t.retention_s
      publishers  = { for fk, a in local.function_access : fk => module.function_sa[fk].member if contains(a.publish, k) }
    }
  }
  subscriptions = {
    for k, s in local.subscriptions : k => {
      name                  = local.subscription_names[k]
      topic                 = s.topic
      ack_deadline_s        = try(s.ack_deadline_s, 60)
      min_backoff_s         = try(s.min_backoff_s, 10)
      max_backoff_s         = try(s.max_backoff_s, 600)
      dead_letter           = try(s.dead_letter, null)
      max_delivery_attempts = try(s.max_delivery_attempts, 5)
      push = try(s.push_function, null) == null ? null : {
        endpoint              = module.functions[s.push_function].uri
        audience              = module.functions[s.push_function].uri
        service_account_email = module.push_sa.email
      }
      subscribers = { for fk, a in local.function_access : fk => module.function_sa[fk].member if contains(a.subscribe, k) }
    }
  }
  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}

module "queues" {
  source     = "./modules/cloud-tasks"
  for_each   = local.queues
  project_id = var.project_id
  region     = var.region
  name       = local.queue_names[each.key]
  rate_limits = {
    max_dispatches_per_second = each.value.max_dispatches_per_second
    max_concurrent_dispatches = var.tasks.max_concurrent_dispatches
  }
  retry = {
    max_attempts  = each.value.max_attempts
    min_backoff   = var.tasks.min_backoff
    max_backoff   = var.tasks.max_backoff
    max_doublings = var.tasks.max_doublings
  }
  enqueuers  = { for fk, a in local.function_access : fk => module.function_sa[fk].member if contains(a.enqueue, each.key) }
  depends_on = [module.services]
}

# Recovers what no event will: leases whose turn died, swarms stuck waiting. task_dispatch answers
# POST /sweep; the request carries an OIDC token for the Cloud Tasks account.
resource "google_cloud_scheduler_job" "watchdog_sweep" {
  project          = var.project_id
  region           = var.region
  name             = local.sweep_job_name
  description      = "CloudSwarm watchdog sweep (${var.prefix}): POST ${local.dispatch_function} /sweep"
  schedule         = var.watchdog.schedule
  time_zone        = var.watchdog.time_zone
  paused           = var.watchdog.paused
  attempt_deadline = "${max(15, local.functions[local.dispatch_function].timeout_s)}s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "10s"
    max_backoff_duration = "60s"
    max_doublings        = 2
  }

  http_target {
    http_method = "POST"
    uri         = "${module.functions[local.dispatch_function].url}/sweep"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ source = "scheduler" }))
    oidc_token {
      service_account_email = module.tasks_sa.email
      audience              = module.functions[local.dispatch_function].url
    }
  }

  depends_on = [module.services]
}
