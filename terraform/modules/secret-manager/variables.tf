variable "project_id" {
  type        = string
  description = "Project that owns the secrets."
}

variable "secrets" {
  type = map(object({
    name      = string
    accessors = optional(map(string), {})
  }))
  description = "Secrets by logical name: the concrete secret id, and the members granted roles/secretmanager.secretAccessor on that secret alone (keyed by a static label)."
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to every secret."
  default     = {}
}
