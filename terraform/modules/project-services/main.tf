# The APIs CloudSwarm needs, and the Google-managed service agents that must exist before IAM can
# name them (the Pub/Sub agent signs push OIDC tokens and moves messages to dead-letter topics).

resource "google_project_service" "services" {
  for_each = toset(var.services)
  project  = var.project_id
  service  = each.value
  # Turning an API off on destroy breaks anything else in the project that uses it.
  disable_on_destroy         = false
  disable_dependent_services = false
}

resource "google_project_service_identity" "agents" {
  provider   = google-beta
  for_each   = toset(var.service_agents)
  project    = var.project_id
  service    = each.value
  depends_on = [google_project_service.services]
}
