# GCP spend: a monthly budget whose every update reaches the budget-alerts topic. The function that
# resources.json subscribes to that topic engages the kill switch (control/kill_switch) once
# cost / budget >= kill_switch_threshold, which it reads as CLOUDSWARM_BUDGET_KILL_THRESHOLD.

module "budget" {
  source                = "./modules/billing-budget"
  count                 = var.budget == null ? 0 : 1
  billing_account       = var.budget.billing_account
  project_number        = data.google_project.project.number
  display_name          = "CloudSwarm ${var.prefix} (${var.project_id})"
  amount                = var.budget.amount
  currency              = var.budget.currency
  alert_thresholds      = var.budget.alert_thresholds
  kill_switch_threshold = var.budget.kill_switch_threshold
  topic_project_id      = var.project_id
  topic_name            = module.pubsub.topics[local.budget_topic].name
  notification_channels = slice(module.monitoring.notification_channels, 0, min(5, length(module.monitoring.notification_channels)))
  depends_on            = [module.services]
}
