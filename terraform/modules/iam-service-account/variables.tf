variable "project_id" {
  type        = string
  description = "Project that owns the service account."
}

variable "name" {
  type        = string
  description = "Account id (the part of the email before '@'): 6 to 30 lowercase letters, digits or hyphens."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.name))
    error_message = "A service account id is 6 to 30 characters: a lowercase letter, then lowercase letters, digits or hyphens, not ending in a hyphen."
  }
}

variable "display_name" {
  type        = string
  description = "Human-readable name shown in the console."
}

variable "description" {
  type        = string
  description = "What the account is for; shown in the console."
  default     = null
}

variable "project_roles" {
  type        = list(string)
  description = "Project-level roles granted to the account. Keep this short: prefer roles on single resources."
  default     = []
}

variable "users" {
  type        = map(string)
  description = "Members granted roles/iam.serviceAccountUser on this account, keyed by a static label (the keys must be known at plan time, the members need not be)."
  default     = {}
}

variable "token_creators" {
  type        = map(string)
  description = "Members granted roles/iam.serviceAccountTokenCreator on this account, keyed by a static label."
  default     = {}
}

variable "token_creator_self" {
  type        = bool
  description = "Grant the account roles/iam.serviceAccountTokenCreator on itself, so it can sign blobs (Firebase custom tokens) through the IAM API without a stored key."
  default     = false
}
