output "notification_channels" {
  description = "Notification channel ids (for the billing budget)."
  value       = local.channels
}

output "alert_policies" {
  description = "Alert policy names by purpose."
  value = {
    dead_letters    = google_monitoring_alert_policy.dead_letters.name
    function_errors = google_monitoring_alert_policy.function_errors.name
    model_spend     = google_monitoring_alert_policy.model_spend.name
  }
}
