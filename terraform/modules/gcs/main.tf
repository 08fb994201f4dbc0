# A private bucket: uniform access, public access prevented, objects deleted after a set age.

resource "google_storage_bucket" "bucket" {
  project                     = var.project_id
  name                        = var.name
  location                    = var.location
  storage_class               = var.storage_class
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  versioning {
    enabled = var.versioning
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

  # With versioning on, old generations would otherwise live forever.
  dynamic "lifecycle_rule" {
    for_each = var.versioning ? [var.noncurrent_delete_days] : []
    content {
      action {
        type = "Delete"
      }
      condition {
        days_since_noncurrent_time = lifecycle_rule.value
      }
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
