variable "project_id" {
  type        = string
  description = "Project that owns the topics and subscriptions."
}

variable "topics" {
  type = map(object({
    name        = string
    retention_s = number
    publishers  = optional(map(string), {})
  }))
  description = "Topics by logical name: concrete name, message retention in seconds, and members granted roles/pubsub.publisher keyed by a static label."
  validation {
    condition     = alltrue([for t in values(var.topics) : t.retention_s >= 600 && t.retention_s <= 2678400])
    error_message = "Topic retention must be between 600 s (10 minutes) and 2678400 s (31 days)."
  }
}

variable "subscriptions" {
  type = map(object({
    name                  = string
    topic                 = string
    ack_deadline_s        = optional(number, 60)
    retention_s           = optional(number, 604800)
    min_backoff_s         = optional(number, 10)
    max_backoff_s         = optional(number, 600)
    dead_letter           = optional(string)
    max_delivery_attempts = optional(number, 5)
    push = optional(object({
      endpoint              = string
      audience              = string
      service_account_email = string
    }))
    subscribers = optional(map(string), {})
  }))
  description = "Subscriptions by logical name. topic and dead_letter are logical topic names (keys of topics); push, when set, delivers to an HTTPS endpoint with an OIDC token; subscribers are members granted roles/pubsub.subscriber."
  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.push == null || s.dead_letter != null])
    error_message = "Every push subscription needs a dead_letter topic: an undeliverable message must not be retried forever."
  }
  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.ack_deadline_s >= 10 && s.ack_deadline_s <= 600])
    error_message = "ack_deadline_s must be between 10 and 600 seconds."
  }
  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.min_backoff_s >= 0 && s.min_backoff_s <= s.max_backoff_s && s.max_backoff_s <= 600])
    error_message = "Backoff must satisfy 0 <= min_backoff_s <= max_backoff_s <= 600."
  }
  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.max_delivery_attempts >= 5 && s.max_delivery_attempts <= 100])
    error_message = "Pub/Sub allows max_delivery_attempts between 5 and 100."
  }
  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.retention_s >= 600 && s.retention_s <= 604800])
    error_message = "Subscription retention must be between 600 s and 604800 s (7 days)."
  }
}

variable "service_agent_member" {
  type        = string
  description = "IAM member of the project's Pub/Sub service agent, which forwards messages to dead-letter topics."
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to topics and subscriptions."
  default     = {}
}

variable "kms_key" {
  type        = string
  description = "Cloud KMS key id every topic's messages are encrypted with; null: Google-managed keys. The Pub/Sub service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on it."
  default     = null
}
