# A private bucket: uniform access, public access prevented, versioned (a deleted or overwritten
# object stays recoverable for noncurrent_delete_days), its access logged to another bucket,
# encrypted with a customer-managed key when one is given, objects deleted after a set age.

resource "google_storage_bucket" "bucket" {
  project                     = var.project_id
  name                        = var.name
  location                    = var.location
  storage_class               = var.storage_class
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  # Always: CloudSwarm writes every object once under a name that never repeats, so versioning
  # costs nothing until an object is deleted, and then keeps it restorable for a while.
  versioning {
    enabled = true
  }

  # Usage logs (who read or wrote which object) land in the deployment's access-log bucket.
  logging {
    log_bucket = var.access_log_bucket
  }

  dynamic "encryption" {
    for_each = var.kms_key == null ? [] : [var.kms_key]
    content {
      default_kms_key_name = encryption.value
    }
  }

  dynamic "lifecycle_rule" {
    for_each = var.lifecycle_delete_days == null ? [] : [var.lifecycle_delete_days]
    content {
      action {
        type = "Delete"
      }
      condition {
        age = lifecycle_rule.value
      }
    }
  }

  # Noncurrent generations (deleted or replaced objects) would otherwise live forever.
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      days_since_noncurrent_time = var.noncurrent_delete_days
    }
  }

  # Uploads that never completed still cost storage.
  lifecycle_rule {
    action {
      type = "AbortIncompleteMultipartUpload"
    }
    condition {
      age = 1
    }
  }
}

resource "google_storage_bucket_iam_member" "members" {
  for_each = var.iam
  bucket   = google_storage_bucket.bucket.name
  role     = each.value.role
  member   = each.value.member
}
