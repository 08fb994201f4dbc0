output "name" {
  description = "Database name."
  value       = google_firestore_database.database.name
}

output "ruleset" {
  description = "Name of the released ruleset, if rules were given."
  value       = one(google_firebaserules_ruleset.firestore[*].name)
}
