# State and secrets: Firestore, the transcript and artifact buckets, Secret Manager.

module "firestore" {
  source     = "./modules/firestore"
  project_id = var.project_id
  database = {
    location               = coalesce(var.firestore.location, var.region)
    point_in_time_recovery = var.firestore.point_in_time_recovery
    delete_protection      = var.firestore.delete_protection
    deletion_policy        = var.firestore.deletion_policy
    kms_key                = local.firestore_kms_key
  }
  indexes = [
    for i in local.firestore_indexes : {
      collection  = i.collectionGroup
      query_scope = try(i.queryScope, "COLLECTION")
      fields      = [for f in i.fields : { field = f.fieldPath, order = f.order }]
    }
  ]
  collection_group_fields = [
    for f in local.firestore_field_overrides : { collection = f.collectionGroup, field = f.fieldPath }
  ]
  ttl_fields = [
    for f in local.firestore_ttl_fields : { collection = f.collectionGroup, field = f.fieldPath }
  ]
  # The same rules file the Firestore emulator enforces locally.
  rules      = local.firestore_rules
  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}

module "buckets" {
  source                 = "./modules/gcs"
  for_each               = local.buckets
  project_id             = var.project_id
  name                   = local.bucket_names[each.key]
  location               = var.region
  lifecycle_delete_days  = try(each.value.lifecycle_delete_days, null)
  noncurrent_delete_days = var.buckets.noncurrent_delete_days
  access_log_bucket      = google_storage_bucket.access_logs.name
  kms_key                = local.kms_key
  force_destroy          = var.buckets.force_destroy
  labels                 = local.labels
  iam = merge(
    { for fk, a in local.function_access : "${fk}-write" => { role = "roles/storage.objectUser", member = module.function_sa[fk].member } if contains(a.buckets_write, each.key) },
    { for fk, a in local.function_access : "${fk}-read" => { role = "roles/storage.objectViewer", member = module.function_sa[fk].member } if contains(a.buckets_read, each.key) },
  )
  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}

# Access logs of every other bucket: who read, wrote or deleted which object, and when. Not the gcs
# module, whose buckets all log here.
resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This is the access-log bucket; logging its own access would log each log delivery, without end
  project                     = var.project_id
  name                        = local.access_logs_bucket_name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.buckets.force_destroy
  labels                      = local.labels

  # Logs are written once and never replaced: versioning only delays a deletion.
  versioning {
    enabled = true
  }

  dynamic "encryption" {
    for_each = local.kms_key == null ? [] : [local.kms_key]
    content {
      default_kms_key_name = encryption.value
    }
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = var.buckets.access_log_days
    }
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      days_since_noncurrent_time = var.buckets.noncurrent_delete_days
    }
  }

  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}

# Cloud Storage delivers usage logs as this Google group.
resource "google_storage_bucket_iam_member" "access_log_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

# Containers only: values are added with `gcloud secrets versions add` (docs/deploy.md), never here.
module "secrets" {
  source     = "./modules/secret-manager"
  project_id = var.project_id
  labels     = local.labels
  kms_key    = local.secrets_kms_key
  secrets = {
    for k in keys(local.secrets) : k => {
      name      = local.secret_names[k]
      accessors = { for fk, f in local.functions : fk => module.function_sa[fk].member if contains(f.secrets, k) }
    }
  }
  depends_on = [module.services, google_kms_crypto_key_iam_member.service_agents]
}
