# Scheduled swarms: one Cloud Scheduler job per entry of var.schedules.
#
# An HTTP target, not a Pub/Sub one: a Pub/Sub target publishes the same static message on every
# fire, so nothing in it could tell one fire from the next or a retry from a new fire. An HTTP
# target's request carries X-CloudScheduler-ScheduleTime, the time the fire was due, unchanged
# across retries; task_dispatch /schedule derives the request id schedule:NAME:TIME from it and
# starts the swarm through the idempotent path, so a retried fire finds its swarm already there.
# The body is the schedule's static request (emulators/scheduler.py posts the same locally).

locals {
  schedule_job_names = { for k in keys(var.schedules) : k => "${var.prefix}-schedule-${k}" }
  # Keys as shared/cloudswarm/triggers.py's ScheduleFire takes them; unset budget axes are null.
  schedule_bodies = {
    for k, s in var.schedules : k => {
      schedule = k
      goal     = s.goal
      model    = s.model
      budget   = s.budget
    }
  }
}

resource "google_cloud_scheduler_job" "schedules" {
  for_each         = var.schedules
  project          = var.project_id
  region           = var.region
  name             = local.schedule_job_names[each.key]
  description      = coalesce(each.value.description, "CloudSwarm scheduled swarm ${each.key} (${var.prefix}): POST ${local.dispatch_function} /schedule")
  schedule         = each.value.cron
  time_zone        = each.value.time_zone
  paused           = each.value.paused
  attempt_deadline = "${max(15, local.functions[local.dispatch_function].timeout_s)}s"

  # A retry carries the fire's schedule time again: it starts no second swarm.
  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
    max_backoff_duration = "120s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = "${module.functions[local.dispatch_function].url}/schedule"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode(local.schedule_bodies[each.key]))
    oidc_token {
      service_account_email = module.tasks_sa.email
      audience              = module.functions[local.dispatch_function].url
    }
  }

  depends_on = [module.services]
}
