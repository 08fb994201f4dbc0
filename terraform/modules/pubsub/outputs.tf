output "topics" {
  description = "Topic resources by logical name (name and id)."
  value       = { for k, v in google_pubsub_topic.topics : k => { name = v.name, id = v.id } }
}

output "subscriptions" {
  description = "Subscription names by logical name."
  value       = merge({ for k, v in google_pubsub_subscription.push : k => v.name }, { for k, v in google_pubsub_subscription.pull : k => v.name })
}
