output "secret_ids" {
  description = "Secret id (short name) by logical name."
  value       = { for k, v in google_secret_manager_secret.secrets : k => v.secret_id }
}

output "names" {
  description = "Full resource name (projects/P/secrets/ID) by logical name."
  value       = { for k, v in google_secret_manager_secret.secrets : k => v.name }
}
