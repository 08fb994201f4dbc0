# Secret containers only. Values are added out of band (gcloud secrets versions add), so no secret
# value ever passes through Terraform, its plan or its state.

locals {
  accessors = merge([
    for sk, s in var.secrets : {
      for label, member in s.accessors : "${sk}/${label}" => { secret = sk, member = member }
    }
  ]...)
}

resource "google_secret_manager_secret" "secrets" {
  for_each  = var.secrets
  project   = var.project_id
  secret_id = each.value.name
  labels    = var.labels
  replication {
    auto {
      dynamic "customer_managed_encryption" {
        for_each = var.kms_key == null ? [] : [var.kms_key]
        content {
          kms_key_name = customer_managed_encryption.value
        }
      }
    }
  }
}

resource "google_secret_manager_secret_iam_member" "accessors" {
  for_each  = local.accessors
  project   = var.project_id
  secret_id = google_secret_manager_secret.secrets[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value.member
}
