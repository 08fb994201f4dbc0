# Alerts an operator acts on: messages that could not be delivered (dead-lettered), functions
# failing, and model spend running faster than expected. GCP spend itself is watched by the
# billing budget, which notifies the same channels.

locals {
  quoted_subs       = join(", ", [for s in var.dead_letter.source_subscriptions : "\"${s}\""])
  quoted_dead_subs  = join(", ", [for s in var.dead_letter.dead_letter_subscriptions : "\"${s}\""])
  quoted_services   = join(", ", [for s in var.functions : "\"${s}\""])
  spend_metric_name = "${replace(var.prefix, "-", "_")}_model_spend_usd"
  channels          = [for c in google_monitoring_notification_channel.email : c.id]
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.notification_emails)
  project      = var.project_id
  display_name = "${var.prefix} alerts: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "${var.prefix}: messages dead-lettered"
  combiner              = "OR"
  notification_channels = local.channels
  documentation {
    mime_type = "text/markdown"
    content   = "A doorbell or trigger message could not be delivered after its retries and went to a dead-letter topic. The web UI lists dead letters; the function logs say why delivery failed. Messages wait in the *-dead-pull subscriptions for 7 days."
  }

  conditions {
    display_name = "Messages forwarded to a dead-letter topic"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.label.subscription_id = one_of(${local.quoted_subs})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.subscription_id"]
      }
    }
  }

  conditions {
    display_name = "Dead letters waiting"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.label.subscription_id = one_of(${local.quoted_dead_subs})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = var.project_id
  display_name          = "${var.prefix}: function errors"
  combiner              = "OR"
  notification_channels = local.channels
  documentation {
    mime_type = "text/markdown"
    content   = "A CloudSwarm function answered with 5xx responses (an unhandled error or a timeout). Pub/Sub and Cloud Tasks retry them; look at the function's logs in Cloud Logging."
  }

  conditions {
    display_name = "5xx responses per function"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.label.response_code_class = \"5xx\" AND resource.label.service_name = one_of(${local.quoted_services})"
      comparison      = "COMPARISON_GT"
      threshold_value = var.thresholds.function_errors_per_5m
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }
}

# Model spend is billed by Anthropic, not GCP, so the budget cannot see it: the functions log every
# model call's cost as a structured record, and this metric adds it up.
resource "google_logging_metric" "model_spend" {
  project = var.project_id
  name    = local.spend_metric_name
  filter  = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = (${join(" OR ", [for s in var.functions : "\"${s}\""])}) AND jsonPayload.${var.spend_log.event_field} = \"${var.spend_log.event}\""
  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "1"
    display_name = "${var.prefix} model spend (USD)"
  }
  value_extractor = "EXTRACT(jsonPayload.${var.spend_log.usd_field})"
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 2
      scale              = 0.0001
    }
  }
}

resource "google_monitoring_alert_policy" "model_spend" {
  project               = var.project_id
  display_name          = "${var.prefix}: model spend"
  combiner              = "OR"
  notification_channels = local.channels
  documentation {
    mime_type = "text/markdown"
    content   = "Model spend in the last hour passed the alert threshold. The global daily cap still refuses calls that would cross it; engage the kill switch from the web UI or API if this is not expected."
  }

  conditions {
    display_name = "Model spend per hour above threshold"
    condition_prometheus_query_language {
      query               = "sum(increase(logging_googleapis_com:user_${local.spend_metric_name}_sum[1h])) > ${var.thresholds.model_spend_usd_per_hour}"
      duration            = "0s"
      evaluation_interval = "300s"
    }
  }

  depends_on = [google_logging_metric.model_spend]
}
