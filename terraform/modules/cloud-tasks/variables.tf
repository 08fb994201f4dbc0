variable "project_id" {
  type        = string
  description = "Project that owns the queue."
}

variable "region" {
  type        = string
  description = "Queue location."
}

variable "name" {
  type        = string
  description = "Queue name. A deleted queue's name cannot be reused for about 7 days."
}

variable "rate_limits" {
  type = object({
    max_dispatches_per_second = number
    max_concurrent_dispatches = optional(number, 100)
  })
  description = "Dispatch rate and concurrency caps."
}

variable "retry" {
  type = object({
    max_attempts       = number
    max_retry_duration = optional(string, "0s")
    min_backoff        = optional(string, "1s")
    max_backoff        = optional(string, "300s")
    max_doublings      = optional(number, 5)
  })
  description = "Retry policy for a task whose target answers with an error: attempts (-1 for unlimited), total duration (0s for unlimited), backoff bounds and doublings."
  validation {
    condition     = var.retry.max_attempts == -1 || var.retry.max_attempts >= 1
    error_message = "max_attempts is -1 (unlimited) or at least 1."
  }
}

variable "log_sampling_ratio" {
  type        = number
  description = "Fraction of task operations logged to Cloud Logging (0 to 1)."
  default     = 1.0
}

variable "enqueuers" {
  type        = map(string)
  description = "Members granted roles/cloudtasks.enqueuer on this queue, keyed by a static label."
  default     = {}
}
