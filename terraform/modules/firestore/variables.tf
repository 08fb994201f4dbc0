variable "project_id" {
  type        = string
  description = "Project that owns the database."
}

variable "database" {
  type = object({
    name                   = optional(string, "(default)")
    location               = string
    point_in_time_recovery = optional(bool, false)
    delete_protection      = optional(bool, true)
    deletion_policy        = optional(string, "ABANDON")
    kms_key                = optional(string)
  })
  description = "The database: name ((default) is what the client libraries use unless told otherwise), location (a region or nam5/eur3), point-in-time recovery, delete protection, what `terraform destroy` does (ABANDON forgets it, DELETE deletes it, PREVENT fails), and the Cloud KMS key it is encrypted with (in its location; null: Google-managed keys; only at creation)."
  validation {
    condition     = contains(["ABANDON", "DELETE", "PREVENT"], var.database.deletion_policy)
    error_message = "deletion_policy must be ABANDON, DELETE or PREVENT."
  }
}

variable "indexes" {
  type = list(object({
    collection  = string
    query_scope = optional(string, "COLLECTION")
    fields = list(object({
      field = string
      order = string
    }))
  }))
  description = "Composite indexes: collection id, scope (COLLECTION or COLLECTION_GROUP) and ordered fields (ASCENDING or DESCENDING)."
  default     = []
  validation {
    condition     = alltrue([for i in var.indexes : length(i.fields) >= 2 && alltrue([for f in i.fields : contains(["ASCENDING", "DESCENDING"], f.order)])])
    error_message = "A composite index has at least two fields, each ASCENDING or DESCENDING."
  }
}

variable "rules" {
  type        = string
  description = "Text of firestore.rules to release on the database; null leaves the rules alone."
  default     = null
}

variable "collection_group_fields" {
  description = "Fields queried across every swarm (collection-group queries): each gets single-field indexes in both scopes."
  type = list(object({
    collection = string
    field      = string
  }))
  default = []
}

variable "ttl_fields" {
  description = "Timestamp fields whose documents Firestore deletes once the time has passed (TTL policies); their single-field indexes are turned off, as they are never queried."
  type = list(object({
    collection = string
    field      = string
  }))
  default = []
}
