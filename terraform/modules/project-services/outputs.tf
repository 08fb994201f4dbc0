output "services" {
  description = "The enabled APIs, for depends_on."
  value       = [for s in google_project_service.services : s.service]
}

output "service_agents" {
  description = "Service agent email by service name."
  value       = { for k, v in google_project_service_identity.agents : k => v.email }
}
