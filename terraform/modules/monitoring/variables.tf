variable "project_id" {
  type        = string
  description = "Project whose metrics are watched and where the policies live."
}

variable "prefix" {
  type        = string
  description = "Deployment prefix, used in policy and metric names."
}

variable "notification_emails" {
  type        = list(string)
  description = "E-mail addresses that receive the alerts."
  default     = []
}

variable "dead_letter" {
  type = object({
    source_subscriptions      = list(string)
    dead_letter_subscriptions = list(string)
  })
  description = "Concrete names of the subscriptions that forward to dead-letter topics, and of the subscriptions on the dead-letter topics."
}

variable "functions" {
  type        = list(string)
  description = "Concrete function names (= Cloud Run service names) watched for errors and spend."
}

variable "thresholds" {
  type = object({
    function_errors_per_5m   = optional(number, 5)
    model_spend_usd_per_hour = optional(number, 10)
  })
  description = "Alert thresholds: 5xx responses per function in 5 minutes, and model spend in USD over the last hour."
  default     = {}
}

variable "spend_log" {
  type = object({
    event_field = optional(string, "event")
    event       = optional(string, "model_usage")
    usd_field   = optional(string, "usd")
  })
  description = "How a function's structured log line records one model call's cost: jsonPayload.<event_field> = <event> and the cost in jsonPayload.<usd_field>."
  default     = {}
}
