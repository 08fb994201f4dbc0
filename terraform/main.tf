# The project's APIs, its service agents, and one service account per job: one per function,
# one for Cloud Tasks and Cloud Scheduler to call task_dispatch with, one for Pub/Sub push, one for
# building the functions. Roles on single resources are granted where those resources are made.

data "google_project" "project" {
  project_id = var.project_id
}

module "services" {
  source     = "./modules/project-services"
  project_id = var.project_id
  services = concat(
    [
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "cloudscheduler.googleapis.com",
      "cloudtasks.googleapis.com",
      "firebaserules.googleapis.com",
      "firestore.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "secretmanager.googleapis.com",
      "serviceusage.googleapis.com",
      "storage.googleapis.com",
    ],
    var.hosting.enabled ? [
      "firebase.googleapis.com",
      "firebasehosting.googleapis.com",
      "iamcredentials.googleapis.com",
      "identitytoolkit.googleapis.com",
    ] : [],
    var.budget == null ? [] : ["billingbudgets.googleapis.com"],
    var.model_provider == "vertex" ? ["aiplatform.googleapis.com"] : [],
    var.tracing == "cloud" ? ["cloudtrace.googleapis.com"] : [],
  )
  # Pub/Sub's for push and dead letters; the others only where a customer-managed key needs them.
  service_agents = concat(["pubsub.googleapis.com"], local.cmek_service_agents)
}

locals {
  pubsub_agent_member = "serviceAccount:${module.services.service_agents["pubsub.googleapis.com"]}"
}

module "function_sa" {
  source        = "./modules/iam-service-account"
  for_each      = local.functions
  project_id    = var.project_id
  name          = local.function_names[each.key]
  display_name  = "CloudSwarm ${each.key}"
  description   = "Runtime identity of the ${each.key} function (${var.prefix})."
  project_roles = concat(local.function_project_roles, lookup(local.extra_project_roles, each.key, []))
  # Signs Firebase custom tokens as itself: no key file anywhere.
  token_creator_self = contains(local.firebase_functions, each.key)
  depends_on         = [module.services]
}

# Cloud Tasks and Cloud Scheduler sign their OIDC tokens for task_dispatch as this account
# (CLOUDSWARM_DISPATCH_SA). Functions that enqueue tasks must be allowed to act as it.
module "tasks_sa" {
  source       = "./modules/iam-service-account"
  project_id   = var.project_id
  name         = local.tasks_sa_name
  display_name = "CloudSwarm Cloud Tasks and Scheduler caller"
  description  = "Identity of Cloud Tasks and Cloud Scheduler requests to task_dispatch (${var.prefix})."
  users        = { for k in local.enqueuing_functions : k => module.function_sa[k].member }
  depends_on   = [module.services]
}

# Pub/Sub push subscriptions authenticate to the functions as this account.
module "push_sa" {
  source         = "./modules/iam-service-account"
  project_id     = var.project_id
  name           = local.push_sa_name
  display_name   = "CloudSwarm Pub/Sub push"
  description    = "Identity of Pub/Sub push deliveries to the functions (${var.prefix})."
  token_creators = { pubsub = local.pubsub_agent_member }
  depends_on     = [module.services]
}

# Cloud Build builds the function images as this account, not the project's default one.
module "build_sa" {
  source        = "./modules/iam-service-account"
  project_id    = var.project_id
  name          = local.build_sa_name
  display_name  = "CloudSwarm function builds"
  description   = "Identity of the Cloud Build jobs that build the functions (${var.prefix})."
  project_roles = ["roles/logging.logWriter"]
  depends_on    = [module.services]
}

# Fails the plan, before anything is created, when resources.json or the variables are inconsistent.
resource "terraform_data" "declaration" {
  input = sha256(jsonencode(local.resources))

  lifecycle {
    precondition {
      condition     = alltrue(flatten([for f in values(local.functions) : [for s in f.secrets : contains(keys(local.declared_secrets), s)]]))
      error_message = "A function in resources.json names a secret that resources.json does not declare."
    }
    precondition {
      condition     = alltrue([for f in values(local.functions) : f.kind != "pubsub" || contains(keys(local.topics), try(f.topic, ""))])
      error_message = "A pubsub function in resources.json names a topic that is not declared."
    }
    precondition {
      condition     = alltrue([for k, f in local.functions : f.kind != "pubsub" || contains(local.push_targets, k)])
      error_message = "A pubsub function in resources.json has no push subscription delivering to it."
    }
    precondition {
      condition = alltrue([
        for s in values(local.subscriptions) : try(s.push_function, null) == null || (
          contains(keys(local.functions), s.push_function) && contains(keys(local.topics), try(s.dead_letter, ""))
        )
      ])
      error_message = "Every push subscription in resources.json must name a declared function and a declared dead_letter topic."
    }
    precondition {
      condition     = alltrue([for s in values(local.subscriptions) : contains(keys(local.topics), s.topic)])
      error_message = "A subscription in resources.json names an undeclared topic."
    }
    precondition {
      condition = alltrue([
        for s in values(local.subscriptions) : try(s.push_function, null) == null || try(s.ack_deadline_s, 60) >= try(local.functions[s.push_function].timeout_s, 0)
      ])
      error_message = "A push subscription's ack_deadline_s must be at least its function's timeout_s, or Pub/Sub redelivers while the function is still running."
    }
    precondition {
      condition     = length(local.queue_targets) == 1 && alltrue([for k in local.queue_targets : try(local.functions[k].kind, "") == "http"])
      error_message = "The queues in resources.json must all target one declared http function (task_dispatch)."
    }
    precondition {
      condition     = alltrue([for s in var.unset_optional_secrets : contains(keys(local.declared_secrets), s) && !try(local.declared_secrets[s].required, true)])
      error_message = "unset_optional_secrets may only list secrets that resources.json declares with required=false."
    }
    precondition {
      condition     = length(setintersection(toset(keys(var.functions.env)), local.secret_env_names)) == 0
      error_message = "Secrets never go in functions.env: add them to Secret Manager (docs/deploy.md, 'Secrets')."
    }
    precondition {
      condition = alltrue(flatten([
        for a in values(local.function_access) : concat(
          [for t in a.publish : contains(keys(local.topics), t)],
          [for s in a.subscribe : contains(keys(local.subscriptions), s)],
          [for b in concat(a.buckets_write, a.buckets_read) : contains(keys(local.buckets), b)],
          [for q in a.enqueue : contains(keys(local.queues), q)],
        )
      ]))
      error_message = "local.access (locals.tf) names a topic, subscription, bucket or queue that resources.json does not declare."
    }
    precondition {
      condition = alltrue([
        for n in concat(values(local.function_names), [local.tasks_sa_name, local.push_sa_name, local.build_sa_name]) : length(n) <= 30
      ]) && length(distinct(concat(values(local.function_names), [local.tasks_sa_name, local.push_sa_name, local.build_sa_name]))) == length(local.functions) + 3
      error_message = "Service account ids (PREFIX-FUNCTION) must be unique and at most 30 characters: shorten the prefix."
    }
    precondition {
      condition     = alltrue([for n in concat(values(local.bucket_names), [local.sources_bucket_name, local.access_logs_bucket_name]) : length(n) <= 63])
      error_message = "Bucket names (PROJECT-PREFIX-NAME) must be at most 63 characters: shorten the prefix."
    }
    precondition {
      condition     = contains(keys(local.topics), local.budget_topic)
      error_message = "resources.json must declare the budget-alerts topic."
    }
  }
}

check "budget_reaches_kill_switch" {
  assert {
    condition     = var.budget == null || length(local.budget_consumers) > 0
    error_message = "The budget publishes to the budget-alerts topic, but no push subscription in resources.json delivers that topic to a function, so nothing engages the kill switch (docs/deploy.md, 'Budget and kill switch')."
  }
}
