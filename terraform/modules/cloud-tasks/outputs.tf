output "name" {
  description = "Queue name."
  value       = google_cloud_tasks_queue.queue.name
}

output "id" {
  description = "Queue id (projects/P/locations/L/queues/NAME)."
  value       = google_cloud_tasks_queue.queue.id
}
