# A Cloud Tasks queue with explicit rate limits and retry policy. The tasks themselves (and their
# HTTP target and OIDC token) are created by the functions; enqueuers need only roles/cloudtasks.enqueuer
# on this queue and actAs on the account whose token the tasks carry.

resource "google_cloud_tasks_queue" "queue" {
  project  = var.project_id
  location = var.region
  name     = var.name

  rate_limits {
    max_dispatches_per_second = var.rate_limits.max_dispatches_per_second
    max_concurrent_dispatches = var.rate_limits.max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = var.retry.max_attempts
    max_retry_duration = var.retry.max_retry_duration
    min_backoff        = var.retry.min_backoff
    max_backoff        = var.retry.max_backoff
    max_doublings      = var.retry.max_doublings
  }

  stackdriver_logging_config {
    sampling_ratio = var.log_sampling_ratio
  }
}

resource "google_cloud_tasks_queue_iam_member" "enqueuers" {
  for_each = var.enqueuers
  project  = var.project_id
  location = google_cloud_tasks_queue.queue.location
  name     = google_cloud_tasks_queue.queue.name
  role     = "roles/cloudtasks.enqueuer"
  member   = each.value
}
