# The Firestore (native mode) database, the composite indexes CloudSwarm's queries need, and the
# security rules the web UI is held to.

resource "google_firestore_database" "database" {
  project                           = var.project_id
  name                              = var.database.name
  location_id                       = var.database.location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = var.database.point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.database.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # ABANDON: `terraform destroy` forgets the database instead of deleting every swarm's history.
  deletion_policy = var.database.deletion_policy

  # A database's key is chosen when it is created and cannot change. A key given later would make
  # Terraform replace the database (every swarm's history): it applies to a new database only.
  dynamic "cmek_config" {
    for_each = var.database.kms_key == null ? [] : [var.database.kms_key]
    content {
      kms_key_name = cmek_config.value
    }
  }

  lifecycle {
    ignore_changes = [cmek_config]
  }
}

resource "google_firestore_index" "indexes" {
  for_each    = { for i in var.indexes : "${i.collection}:${join(",", [for f in i.fields : "${f.field}:${f.order}"])}" => i }
  project     = var.project_id
  database    = google_firestore_database.database.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field
      order      = fields.value.order
    }
  }
}

# Single-field indexes are automatic for queries within one collection, but a collection-group
# query (all agents, all messages of every swarm) needs them declared for that scope.
resource "google_firestore_field" "collection_group" {
  for_each   = { for f in var.collection_group_fields : "${f.collection}.${f.field}" => f }
  project    = var.project_id
  database   = google_firestore_database.database.name
  collection = each.value.collection
  field      = each.value.field

  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
  }
}

# Spent records (rate-limit windows, revoked tokens, webhook delivery markers) carry an
# expires_at timestamp; a TTL policy deletes them after it. No index: nothing queries it, and an
# index on an ever-increasing timestamp is a write hotspot.
resource "google_firestore_field" "ttl" {
  for_each   = { for f in var.ttl_fields : "${f.collection}.${f.field}" => f }
  project    = var.project_id
  database   = google_firestore_database.database.name
  collection = each.value.collection
  field      = each.value.field

  index_config {}
  ttl_config {}
}

resource "google_firebaserules_ruleset" "firestore" {
  count   = var.rules == null ? 0 : 1
  project = var.project_id
  source {
    files {
      name    = "firestore.rules"
      content = var.rules
    }
  }
  # A ruleset in use cannot be deleted: release the new one first.
  lifecycle {
    create_before_destroy = true
  }
  depends_on = [google_firestore_database.database]
}

resource "google_firebaserules_release" "firestore" {
  count        = var.rules == null ? 0 : 1
  project      = var.project_id
  name         = var.database.name == "(default)" ? "cloud.firestore" : "cloud.firestore/${var.database.name}"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore[0].name}"
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore[0]]
  }
}
