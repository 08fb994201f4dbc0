variable "project_id" {
  type        = string
  description = "Project in which the APIs are enabled."
}

variable "services" {
  type        = list(string)
  description = "APIs to enable, as service names (e.g. run.googleapis.com)."
}

variable "service_agents" {
  type        = list(string)
  description = "Services whose Google-managed service agent must exist before IAM refers to it (a subset of services)."
  default     = []
  validation {
    condition     = alltrue([for s in var.service_agents : contains(var.services, s)])
    error_message = "Every service in service_agents must also be listed in services."
  }
}
