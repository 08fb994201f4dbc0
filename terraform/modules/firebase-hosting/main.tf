# Firebase on the project, a web app (whose config the UI's Firebase SDK needs to subscribe to
# Firestore) and a Hosting site for the static UI. Content is uploaded by the Firebase CLI
# (terraform/scripts/deploy.sh): Terraform has no way to upload a site's files.

resource "google_firebase_project" "project" {
  provider = google-beta
  project  = var.project_id
}

resource "google_firebase_web_app" "app" {
  provider        = google-beta
  project         = var.project_id
  display_name    = var.display_name
  deletion_policy = "DELETE"
  depends_on      = [google_firebase_project.project]
}

data "google_firebase_web_app_config" "app" {
  provider   = google-beta
  project    = var.project_id
  web_app_id = google_firebase_web_app.app.app_id
}

resource "google_firebase_hosting_site" "site" {
  provider = google-beta
  project  = var.project_id
  site_id  = var.site_id
  app_id   = google_firebase_web_app.app.app_id
}
