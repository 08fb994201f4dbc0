output "id" {
  description = "Budget resource name."
  value       = google_billing_budget.budget.name
}

output "thresholds" {
  description = "The alert thresholds in force (fractions of the budget), the kill threshold included."
  value       = local.thresholds
}
