variable "project_id" {
  type        = string
  description = "Project that owns the function."
}

variable "region" {
  type        = string
  description = "Region of the function (and of its Cloud Run service)."
}

variable "name" {
  type        = string
  description = "Function name; also the name of its Cloud Run service."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.name))
    error_message = "A function name is lowercase letters, digits and hyphens, starting with a letter, at most 63 characters."
  }
}

variable "description" {
  type        = string
  description = "What the function does; shown in the console."
  default     = null
}

variable "entry_point" {
  type        = string
  description = "Name of the Python function in main.py that serves requests."
}

variable "runtime" {
  type        = string
  description = "Cloud Functions runtime id, e.g. python311."
}

variable "source_archive" {
  type = object({
    bucket = string
    object = string
  })
  description = "The zip built by `make bundle`, already uploaded: bucket and object name."
}

variable "build_service_account" {
  type        = string
  description = "Service account Cloud Build runs as, in the form projects/P/serviceAccounts/EMAIL."
}

variable "docker_repository" {
  type        = string
  description = "Artifact Registry repository (projects/P/locations/L/repositories/R) the built image goes to."
}

variable "service_account_email" {
  type        = string
  description = "Runtime service account of the function."
}

variable "config" {
  type = object({
    memory        = string
    timeout_s     = number
    max_instances = number
    min_instances = optional(number, 0)
    concurrency   = optional(number, 1)
    cpu           = optional(string)
  })
  description = "Runtime sizing: memory (e.g. 512Mi), timeout in seconds, instance bounds, requests per instance, and CPU (null lets Cloud Functions pick one for the memory)."
  validation {
    condition     = var.config.timeout_s >= 1 && var.config.timeout_s <= 3600
    error_message = "timeout_s must be between 1 and 3600 seconds."
  }
  validation {
    condition     = var.config.min_instances >= 0 && var.config.min_instances <= var.config.max_instances
    error_message = "min_instances must be between 0 and max_instances."
  }
}

variable "ingress_settings" {
  type        = string
  description = "ALLOW_ALL for public endpoints; ALLOW_INTERNAL_ONLY for functions called only by Pub/Sub, Cloud Tasks or Cloud Scheduler in the same project."
  default     = "ALLOW_INTERNAL_ONLY"
  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "environment_variables" {
  type        = map(string)
  description = "Plain (non-secret) environment variables."
  default     = {}
}

variable "secret_environment_variables" {
  type = map(object({
    secret_id = string
    version   = optional(string, "latest")
  }))
  description = "Environment variables read from Secret Manager at instance start, keyed by variable name."
  default     = {}
}

variable "invokers" {
  type        = map(string)
  description = "Members granted roles/run.invoker on the function, keyed by a static label (allUsers makes it public)."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels applied to the function."
  default     = {}
}

variable "kms_key" {
  type        = string
  description = "Cloud KMS key id (in the function's region) that encrypts the function's source, image and instances; docker_repository must be encrypted with the same key; null: Google-managed keys. The Cloud Functions, Cloud Run, Artifact Registry and Cloud Storage service agents need roles/cloudkms.cryptoKeyEncrypterDecrypter on it."
  default     = null
}
