output "site_id" {
  description = "Hosting site id."
  value       = google_firebase_hosting_site.site.site_id
}

output "url" {
  description = "Default URL of the site."
  value       = google_firebase_hosting_site.site.default_url
}

output "web_app_id" {
  description = "Firebase web app id."
  value       = google_firebase_web_app.app.app_id
}

output "web_config" {
  description = "The Firebase web config the UI initialises the SDK with (not secret: it identifies the project; access is decided by firestore.rules)."
  value = {
    projectId         = var.project_id
    appId             = google_firebase_web_app.app.app_id
    apiKey            = data.google_firebase_web_app_config.app.api_key
    authDomain        = data.google_firebase_web_app_config.app.auth_domain
    storageBucket     = try(data.google_firebase_web_app_config.app.storage_bucket, "")
    messagingSenderId = try(data.google_firebase_web_app_config.app.messaging_sender_id, "")
  }
}
