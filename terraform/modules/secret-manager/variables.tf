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

variable "kms_key" {
  type        = string
  description = "Cloud KMS key id (in the global location, as automatic replication requires) the secrets' payloads are encrypted with; null: Google-managed keys. The Secret Manager service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on it."
  default     = null
}
