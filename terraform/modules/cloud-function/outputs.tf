output "name" {
  description = "Function name (and Cloud Run service name)."
  value       = google_cloudfunctions2_function.function.name
}

output "url" {
  description = "The function's cloudfunctions.net URL (https://REGION-PROJECT.cloudfunctions.net/NAME)."
  value       = google_cloudfunctions2_function.function.url
}

output "uri" {
  description = "The run.app URI of the underlying Cloud Run service."
  value       = google_cloudfunctions2_function.function.service_config[0].uri
}

output "service" {
  description = "Full resource name of the underlying Cloud Run service."
  value       = google_cloudfunctions2_function.function.service_config[0].service
}
