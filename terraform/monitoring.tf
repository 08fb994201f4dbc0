# Alert policies: dead-lettered messages, function errors, model spend.

locals {
  dead_letter_topics = toset(compact(concat(
    [for t in values(local.topics) : try(t.dead_letter, null)],
    [for s in values(local.subscriptions) : try(s.dead_letter, null)],
  )))
}

module "monitoring" {
  source              = "./modules/monitoring"
  project_id          = var.project_id
  prefix              = var.prefix
  notification_emails = var.alerts.emails
  dead_letter = {
    source_subscriptions      = [for k, s in local.subscriptions : local.subscription_names[k] if try(s.dead_letter, null) != null]
    dead_letter_subscriptions = [for k, s in local.subscriptions : local.subscription_names[k] if contains(local.dead_letter_topics, s.topic)]
  }
  functions = values(local.function_names)
  thresholds = {
    function_errors_per_5m   = var.alerts.function_errors_per_5m
    model_spend_usd_per_hour = var.alerts.model_spend_usd_per_hour
  }
  depends_on = [module.services]
}
