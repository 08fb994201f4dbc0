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

variable "model_provider" {
  type        = string
  description = "Who serves Claude: \"anthropic\" (Anthropic's API, with the anthropic-api-key secret) or \"vertex\" (Claude on Vertex AI: the model-calling functions' service accounts get roles/aiplatform.user and no API key secret is created). The functions read it as CLOUDSWARM_MODEL_PROVIDER."
  default     = "anthropic"
  validation {
    condition     = contains(["anthropic", "vertex"], var.model_provider)
    error_message = "model_provider is \"anthropic\" or \"vertex\"."
  }
}

variable "tracing" {
  type        = string
  description = "Where the functions send each turn's OpenTelemetry spans: \"cloud\" (Cloud Trace; every function's service account gets roles/cloudtrace.agent) or \"off\". The functions read it as CLOUDSWARM_TRACING."
  default     = "cloud"
  validation {
    condition     = contains(["cloud", "off"], var.tracing)
    error_message = "tracing is \"cloud\" or \"off\"."
  }
}

variable "trace_content" {
  type        = bool
  description = "Put prompts, answers and tool inputs into the spans (CLOUDSWARM_TRACE_CONTENT). Off by default: they can hold anything an agent read or wrote, and anyone who may read the project's traces would see it."
  default     = false
}

variable "vertex_region" {
  type        = string
  description = "With model_provider = \"vertex\": the Vertex AI location Claude is called in (CLOUDSWARM_VERTEX_REGION). \"global\" (the default) routes to any region with capacity at list price; a region (e.g. us-east5) or multi-region (us, eu) keeps data there and costs 10% more for recent models."
  default     = "global"
  validation {
    condition     = can(regex("^(global|us|eu|[a-z]+-[a-z]+[0-9]+)$", var.vertex_region))
    error_message = "vertex_region is global, us, eu or a region such as us-east5."
  }
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
    force_destroy          = optional(bool, false)
    noncurrent_delete_days = optional(number, 30)
    access_log_days        = optional(number, 90)
  })
  description = "Bucket behaviour: force_destroy lets `terraform destroy` delete the transcript and artifact buckets while they still hold objects; noncurrent_delete_days is how long a deleted or replaced object stays recoverable (every bucket is versioned); access_log_days is how long the access-log bucket keeps its logs. Lifecycle rules of the data themselves come from resources.json."
  default     = {}
  validation {
    condition     = var.buckets.noncurrent_delete_days >= 1 && var.buckets.access_log_days >= 1
    error_message = "noncurrent_delete_days and access_log_days must be at least 1 day."
  }
}

variable "encryption" {
  type = object({
    kms_key              = optional(string)
    firestore_kms_key    = optional(string)
    secrets_kms_key      = optional(string)
    grant_service_agents = optional(bool, true)
  })
  description = <<-EOT
    Customer-managed encryption keys (Cloud KMS crypto key ids,
    projects/P/locations/L/keyRings/R/cryptoKeys/K); null everywhere (the default) keeps
    Google-managed keys. kms_key, a key in var.region, encrypts the buckets, the Pub/Sub topics, the
    image repository and the functions. firestore_kms_key encrypts the Firestore database and must
    be in its location (default: kms_key, right for a database in var.region; a key in `us` for
    nam5, `europe` for eur3); it only applies when the database is created. secrets_kms_key, a key
    in `global`, encrypts the Secret Manager secrets (automatic replication). grant_service_agents:
    give each Google service agent that uses a key roles/cloudkms.cryptoKeyEncrypterDecrypter on it
    (needs permission to set the key's IAM policy; turn off if your KMS admins grant it).
  EOT
  default     = {}
  validation {
    condition = alltrue([
      for k in [var.encryption.kms_key, var.encryption.firestore_kms_key, var.encryption.secrets_kms_key] :
      k == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", k))
    ])
    error_message = "A KMS key is projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY."
  }
  validation {
    condition     = var.encryption.secrets_kms_key == null || can(regex("/locations/global/", var.encryption.secrets_kms_key))
    error_message = "Secrets use automatic replication, whose key must be in the global location."
  }
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

variable "schedules" {
  type = map(object({
    cron      = string
    time_zone = optional(string, "Etc/UTC")
    goal      = string
    model     = optional(string)
    budget = optional(object({
      usd    = optional(number)
      tokens = optional(number)
      turns  = optional(number)
      wall_s = optional(number)
    }), {})
    paused      = optional(bool, false)
    description = optional(string)
  }))
  description = <<-EOT
    Scheduled swarms, keyed by schedule name (lowercase letters, digits, hyphens; at most 63). Each
    becomes a Cloud Scheduler job PREFIX-schedule-NAME that POSTs the swarm request to
    task_dispatch /schedule: cron (unix-cron, five fields) read in time_zone (IANA, default
    Etc/UTC), the lead's goal, an optional model, an optional budget (usd, tokens, turns, wall_s;
    unset axes are uncapped), paused. One swarm per schedule and fire time: a retried fire starts
    none. Keep them in schedules.auto.tfvars.json, which the local stack's scheduler stand-in
    fires too (docs/deploy.md).
  EOT
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.schedules) : can(regex("^[a-z][a-z0-9-]{0,62}$", k))])
    error_message = "A schedule name is 1 to 63 lowercase letters, digits or hyphens, starting with a letter."
  }
  validation {
    condition     = alltrue([for s in values(var.schedules) : length(split(" ", trimspace(replace(s.cron, "/\\s+/", " ")))) == 5])
    error_message = "cron is a unix-cron expression of five fields, e.g. \"0 6 * * 1-5\"."
  }
  validation {
    condition     = alltrue([for s in values(var.schedules) : length(trimspace(s.goal)) > 0 && length(s.goal) <= 20000])
    error_message = "goal is 1 to 20000 characters."
  }
  validation {
    condition = alltrue(flatten([
      for s in values(var.schedules) : [for v in values(s.budget) : v == null || try(v > 0, false)]
    ]))
    error_message = "Every budget axis given (usd, tokens, turns, wall_s) is greater than 0."
  }
  validation {
    condition = alltrue(flatten([
      for s in values(var.schedules) : [for v in [s.budget.tokens, s.budget.turns] : v == null || try(floor(v) == v, false)]
    ]))
    error_message = "budget.tokens and budget.turns are whole numbers."
  }
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
