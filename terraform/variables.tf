variable "project_id" {
  type        = string
  description = "The GCP project CloudSwarm is deployed into (it must exist and be linked to a billing account)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "A project id is 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "Region for the functions, queues, scheduler job, buckets and the image repository."
  default     = "us-central1"
}

variable "prefix" {
  type        = string
  description = "Prefix of every resource name (topics, subscriptions, queues and secrets are PREFIX-NAME, buckets PROJECT-PREFIX-NAME): lets several deployments share a project. The functions read it as CLOUDSWARM_PREFIX."
  default     = "cloudswarm"
  validation {
    # Stricter than settings.py (which allows 20): PREFIX-swarm-trigger must fit a 30-character
    # service account id, and bucket names are lowercase.
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}[a-z0-9]$", var.prefix))
    error_message = "prefix is 2 to 16 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels applied to every resource that takes labels."
  default     = {}
}

variable "functions" {
  type = object({
    runtime       = optional(string, "python311")
    bundle_path   = optional(string)
    default_model = optional(string)
    env           = optional(map(string), {})
    min_instances = optional(map(number), {})
    concurrency   = optional(map(number), {})
  })
  description = <<-EOT
    How the functions are built and run. runtime: Cloud Functions runtime id. bundle_path: the zip
    built by `make bundle` (default ../dist/functions/functions.zip). default_model: sets
    CLOUDSWARM_DEFAULT_MODEL. env: extra plain environment variables for every function (the
    CLOUDSWARM_* settings in shared/cloudswarm/settings.py, e.g. CLOUDSWARM_DAILY_USD_CAP); never
    secrets. min_instances and concurrency: per-function overrides keyed by entry point name.
  EOT
  default     = {}
}

variable "unset_optional_secrets" {
  type        = set(string)
  description = "Logical names of optional secrets (required=false in resources.json) you have not given a value. A function cannot start with a secret that has no version, so these are not mounted and their env var stays unset."
  default     = []
}

variable "firestore" {
  type = object({
    location               = optional(string)
    point_in_time_recovery = optional(bool, false)
    delete_protection      = optional(bool, true)
    deletion_policy        = optional(string, "ABANDON")
  })
  description = "The Firestore (native) database: location (default: the region; nam5 or eur3 for multi-region), point-in-time recovery, delete protection, and whether `terraform destroy` deletes it (DELETE) or leaves it (ABANDON)."
  default     = {}
}

variable "buckets" {
  type = object({
    force_destroy = optional(bool, false)
  })
  description = "Bucket behaviour: force_destroy lets `terraform destroy` delete the transcript and artifact buckets while they still hold objects. Lifecycle rules come from resources.json."
  default     = {}
}

variable "tasks" {
  type = object({
    max_concurrent_dispatches = optional(number, 100)
    min_backoff               = optional(string, "1s")
    max_backoff               = optional(string, "300s")
    max_doublings             = optional(number, 5)
  })
  description = "Cloud Tasks settings not in resources.json (which holds each queue's rate and max attempts): concurrency and the retry backoff."
  default     = {}
}

variable "watchdog" {
  type = object({
    schedule  = optional(string, "*/5 * * * *")
    time_zone = optional(string, "Etc/UTC")
    paused    = optional(bool, false)
  })
  description = "The Cloud Scheduler job that POSTs to task_dispatch /sweep to recover expired leases and stuck swarms: cron schedule, time zone, paused."
  default     = {}
}

variable "hosting" {
  type = object({
    enabled = optional(bool, true)
    site_id = optional(string)
  })
  description = "Firebase Hosting for the web UI: enabled, and the site id (default PROJECT-PREFIX; the site is https://SITE_ID.web.app)."
  default     = {}
}

variable "budget" {
  type = object({
    billing_account       = string
    amount                = number
    currency              = optional(string, "USD")
    alert_thresholds      = optional(list(number), [0.5, 0.9, 1.0])
    kill_switch_threshold = optional(number, 1.0)
  })
  description = "Monthly GCP budget on the project (null: no budget). Every update goes to the budget-alerts topic; at kill_switch_threshold (a fraction of amount) its consumer engages the kill switch. Creating it needs roles/billing.costsManager on the billing account."
  default     = null
}

variable "alerts" {
  type = object({
    emails                   = optional(list(string), [])
    function_errors_per_5m   = optional(number, 5)
    model_spend_usd_per_hour = optional(number, 10)
  })
  description = "Alerting: e-mail recipients, 5xx responses per function in 5 minutes, and model spend (USD) in the last hour that raise an alert."
  default     = {}
}
