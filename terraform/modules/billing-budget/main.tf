# A monthly budget on one project. Every budget update (several a day) is published to a Pub/Sub
# topic; the consumer engages the kill switch when cost/budget reaches the kill threshold. The
# thresholds also e-mail the billing admins and the given notification channels.

locals {
  thresholds = sort(distinct(concat(var.alert_thresholds, [var.kill_switch_threshold])))
}

resource "google_pubsub_topic_iam_member" "billing_publisher" {
  project = var.topic_project_id
  topic   = var.topic_name
  role    = "roles/pubsub.publisher"
  # The account Cloud Billing publishes budget notifications as.
  member = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"
}

resource "google_billing_budget" "budget" {
  provider        = google-beta
  billing_account = var.billing_account
  display_name    = var.display_name

  budget_filter {
    projects               = ["projects/${var.project_number}"]
    calendar_period        = "MONTH"
    credit_types_treatment = "INCLUDE_ALL_CREDITS"
  }

  amount {
    specified_amount {
      currency_code = var.currency
      units         = tostring(floor(var.amount))
    }
  }

  dynamic "threshold_rules" {
    for_each = local.thresholds
    content {
      threshold_percent = threshold_rules.value
      spend_basis       = "CURRENT_SPEND"
    }
  }

  all_updates_rule {
    pubsub_topic                     = "projects/${var.topic_project_id}/topics/${var.topic_name}"
    schema_version                   = "1.0"
    monitoring_notification_channels = var.notification_channels
    disable_default_iam_recipients   = false
  }

  depends_on = [google_pubsub_topic_iam_member.billing_publisher]
}
