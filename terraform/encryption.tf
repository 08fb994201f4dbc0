# Customer-managed encryption keys (var.encryption; docs/deploy.md, 'Encryption keys'). Every
# resource that can take a key is given the one for its location; a null key leaves Google-managed
# encryption. The Google service agents that encrypt on the project's behalf must be allowed to use
# their key, or creating the resource fails: granted here unless grant_service_agents is off.

locals {
  kms_key         = var.encryption.kms_key
  secrets_kms_key = var.encryption.secrets_kms_key
  # The database's location decides its key's: kms_key (in var.region) fits a regional database only.
  firestore_location = coalesce(var.firestore.location, var.region)
  firestore_kms_key  = var.encryption.firestore_kms_key != null ? var.encryption.firestore_kms_key : local.kms_key

  # Service agents that only exist once asked for (module.services creates them).
  cmek_service_agents = concat(
    local.kms_key == null ? [] : ["artifactregistry.googleapis.com"],
    local.firestore_kms_key == null ? [] : ["firestore.googleapis.com"],
    local.secrets_kms_key == null ? [] : ["secretmanager.googleapis.com"],
  )
  cmek_agents    = { for s in local.cmek_service_agents : s => "serviceAccount:${module.services.service_agents[s]}" }
  project_number = data.google_project.project.number

  # (key, member) pairs by a static label. kms_key: buckets (Cloud Storage), topics (Pub/Sub), the
  # image repository (Artifact Registry), and the functions, whose source, image and instances
  # Cloud Functions, Cloud Run, Artifact Registry and Cloud Storage encrypt.
  kms_grants = merge(
    local.kms_key == null ? {} : {
      storage          = { key = local.kms_key, member = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}" }
      pubsub           = { key = local.kms_key, member = local.pubsub_agent_member }
      artifactregistry = { key = local.kms_key, member = lookup(local.cmek_agents, "artifactregistry.googleapis.com", null) }
      cloudfunctions   = { key = local.kms_key, member = "serviceAccount:service-${local.project_number}@gcf-admin-robot.iam.gserviceaccount.com" }
      cloudrun         = { key = local.kms_key, member = "serviceAccount:service-${local.project_number}@serverless-robot-prod.iam.gserviceaccount.com" }
    },
    local.firestore_kms_key == null ? {} : {
      firestore = { key = local.firestore_kms_key, member = lookup(local.cmek_agents, "firestore.googleapis.com", null) }
    },
    local.secrets_kms_key == null ? {} : {
      secretmanager = { key = local.secrets_kms_key, member = lookup(local.cmek_agents, "secretmanager.googleapis.com", null) }
    },
  )
}

# The Cloud Storage service agent; reading it also creates it.
data "google_storage_project_service_account" "gcs" {
  project    = var.project_id
  depends_on = [module.services]
}

resource "google_kms_crypto_key_iam_member" "service_agents" {
  for_each      = var.encryption.grant_service_agents ? local.kms_grants : {}
  crypto_key_id = each.value.key
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value.member
}

# Fails the plan when a key cannot serve the resources it is given to.
resource "terraform_data" "encryption" {
  input = var.encryption

  lifecycle {
    precondition {
      condition     = local.kms_key == null || strcontains(coalesce(local.kms_key, "-"), "/locations/${var.region}/")
      error_message = "encryption.kms_key must be a key in var.region (${var.region}): the buckets, the image repository and the functions are there."
    }
    precondition {
      condition     = var.encryption.firestore_kms_key != null || local.kms_key == null || local.firestore_location == var.region
      error_message = "The Firestore database is in ${local.firestore_location}, not in var.region: set encryption.firestore_kms_key to a key in its location (us for nam5, europe for eur3)."
    }
  }
}
