# One service account with the project roles it needs and nothing else. Roles on single resources
# (a topic, a bucket, a secret) are granted by the module that owns the resource.

resource "google_service_account" "sa" {
  project      = var.project_id
  account_id   = var.name
  display_name = var.display_name
  description  = var.description
}

resource "google_project_iam_member" "project_roles" {
  for_each = toset(var.project_roles)
  project  = var.project_id
  role     = each.value
  member   = google_service_account.sa.member
}

# Principals that may attach this account to a task, a job or a build (iam.serviceAccounts.actAs).
resource "google_service_account_iam_member" "users" {
  for_each           = var.users
  service_account_id = google_service_account.sa.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# The account signing blobs as itself (e.g. Firebase custom tokens minted without a stored key).
resource "google_service_account_iam_member" "self_token_creator" {
  count              = var.token_creator_self ? 1 : 0
  service_account_id = google_service_account.sa.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.sa.member
}

# Principals that may mint tokens for this account (the Pub/Sub agent signing push OIDC tokens).
resource "google_service_account_iam_member" "token_creators" {
  for_each           = var.token_creators
  service_account_id = google_service_account.sa.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.value
}
