variable "billing_account" {
  type        = string
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) the project is billed to."
}

variable "project_number" {
  type        = string
  description = "Number of the project the budget watches."
}

variable "display_name" {
  type        = string
  description = "Budget name shown in the billing console."
}

variable "amount" {
  type        = number
  description = "Monthly budget in whole units of currency."
  validation {
    condition     = var.amount >= 1
    error_message = "The budget must be at least 1."
  }
}

variable "currency" {
  type        = string
  description = "Currency of the amount; must be the billing account's currency."
  default     = "USD"
}

variable "alert_thresholds" {
  type        = list(number)
  description = "Fractions of the budget (0.5 = 50%) at which alerts go out."
  default     = [0.5, 0.9, 1.0]
}

variable "kill_switch_threshold" {
  type        = number
  description = "Fraction of the budget at which the budget consumer engages the kill switch; also an alert threshold."
  validation {
    condition     = var.kill_switch_threshold > 0 && var.kill_switch_threshold <= 10
    error_message = "kill_switch_threshold is a fraction of the budget, above 0 and at most 10."
  }
}

variable "topic_project_id" {
  type        = string
  description = "Project of the Pub/Sub topic budget updates are published to."
}

variable "topic_name" {
  type        = string
  description = "Name of the Pub/Sub topic budget updates are published to."
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel ids that also receive threshold alerts (at most 5)."
  default     = []
  validation {
    condition     = length(var.notification_channels) <= 5
    error_message = "A budget accepts at most 5 monitoring notification channels."
  }
}
