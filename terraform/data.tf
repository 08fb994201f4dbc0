# State and secrets: Firestore, the transcript and artifact buckets, Secret Manager.

module "firestore" {
  source     = "./modules/firestore"
  project_id = var.project_id
  database = {
    location               = coalesce(var.firestore.location, var.region)
    point_in_time_recovery = var.firestore.point_in_time_recovery
    delete_protection      = var.firestore.delete_protection
    deletion_policy        = var.firestore.deletion_policy
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
  depends_on = [module.services]
}

module "buckets" {
  source                = "./modules/gcs"
  for_each              = local.buckets
  project_id            = var.project_id
  name                  = local.bucket_names[each.key]
  location              = var.region
  lifecycle_delete_days = try(each.value.lifecycle_delete_days, null)
  versioning            = try(each.value.versioning, false)
  force_destroy         = var.buckets.force_destroy
  labels                = local.labels
  iam = merge(
    { for fk, a in local.function_access : "${fk}-write" => { role = "roles/storage.objectUser", member = module.function_sa[fk].member } if contains(a.buckets_write, each.key) },
    { for fk, a in local.function_access : "${fk}-read" => { role = "roles/storage.objectViewer", member = module.function_sa[fk].member } if contains(a.buckets_read, each.key) },
  )
  depends_on = [module.services]
}

# Containers only: values are added with `gcloud secrets versions add` (docs/deploy.md), never here.
module "secrets" {
  source     = "./modules/secret-manager"
  project_id = var.project_id
  labels     = local.labels
  secrets = {
    for k in keys(local.secrets) : k => {
      name      = local.secret_names[k]
      accessors = { for fk, f in local.functions : fk => module.function_sa[fk].member if contains(f.secrets, k) }
    }
  }
  depends_on = [module.services]
}
