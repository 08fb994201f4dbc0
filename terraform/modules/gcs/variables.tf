variable "project_id" {
  type        = string
  description = "Project that owns the bucket."
}

variable "name" {
  type        = string
  description = "Globally unique bucket name."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.name))
    error_message = "A bucket name is 3 to 63 lowercase letters, digits, '-', '_' or '.', starting and ending with a letter or digit."
  }
}

variable "location" {
  type        = string
  description = "Bucket location (a region such as us-central1, or a multi-region)."
}

variable "storage_class" {
  type        = string
  description = "Default storage class."
  default     = "STANDARD"
}

variable "lifecycle_delete_days" {
  type        = number
  description = "Delete objects this many days after creation; null keeps them."
  default     = null
}

variable "access_log_bucket" {
  type        = string
  description = "Name of the bucket that receives this bucket's access logs (Cloud Storage usage logs); it must let cloud-storage-analytics@google.com create objects."
}

variable "kms_key" {
  type        = string
  description = "Cloud KMS key id (projects/P/locations/L/keyRings/R/cryptoKeys/K) new objects are encrypted with by default; null: Google-managed keys. The Cloud Storage service agent needs roles/cloudkms.cryptoKeyEncrypterDecrypter on it."
  default     = null
}

variable "noncurrent_delete_days" {
  type        = number
  description = "Delete noncurrent generations (deleted or replaced objects) this many days after they stopped being current."
  default     = 30
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete a bucket that still holds objects."
  default     = false
}

variable "iam" {
  type = map(object({
    role   = string
    member = string
  }))
  description = "Bucket-level grants keyed by a static label: one role for one member each."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the bucket."
  default     = {}
}
