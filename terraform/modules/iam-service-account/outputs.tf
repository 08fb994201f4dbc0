output "email" {
  description = "Service account email."
  value       = google_service_account.sa.email
}

output "id" {
  description = "Fully qualified id (projects/P/serviceAccounts/EMAIL), the form Cloud Build expects."
  value       = google_service_account.sa.id
}

output "member" {
  description = "IAM member string (serviceAccount:EMAIL)."
  value       = google_service_account.sa.member
}
