# Topics, their subscriptions and the IAM on both. Push subscriptions carry their own dead-letter
# topic and retry policy (declared in resources.json); the Pub/Sub service agent needs publish on
# every dead-letter topic and subscribe on every subscription that forwards to one.

locals {
  publishers = merge([
    for tk, t in var.topics : {
      for label, member in t.publishers : "${tk}/${label}" => { topic = tk, member = member }
    }
  ]...)
  subscribers = merge([
    for sk, s in var.subscriptions : {
      for label, member in s.subscribers : "${sk}/${label}" => { subscription = sk, member = member }
    }
  ]...)
  push_subscriptions = { for k, v in var.subscriptions : k => v if v.push != null }
  pull_subscriptions = { for k, v in var.subscriptions : k => v if v.push == null }
  dead_letter_topics = toset(compact([for s in values(var.subscriptions) : s.dead_letter]))
  forwarding         = { for k, v in var.subscriptions : k => v if v.dead_letter != null }
}

resource "google_pubsub_topic" "topics" {
  #checkov:skip=CKV_GCP_83:CMEK is optional (root var.encryption.kms_key); its default, null, means Google-managed keys, which checkov cannot see
  for_each                   = var.topics
  project                    = var.project_id
  name                       = each.value.name
  message_retention_duration = "${each.value.retention_s}s"
  kms_key_name               = var.kms_key
  labels                     = var.labels
}

resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = local.publishers
  project  = var.project_id
  topic    = google_pubsub_topic.topics[each.value.topic].name
  role     = "roles/pubsub.publisher"
  member   = each.value.member
}

# Push to a function: authenticated with an OIDC token, never retried faster than the backoff,
# and moved to its dead-letter topic after max_delivery_attempts.
resource "google_pubsub_subscription" "push" {
  for_each                   = local.push_subscriptions
  project                    = var.project_id
  name                       = each.value.name
  topic                      = google_pubsub_topic.topics[each.value.topic].id
  ack_deadline_seconds       = each.value.ack_deadline_s
  message_retention_duration = "${each.value.retention_s}s"
  labels                     = var.labels

  push_config {
    push_endpoint = each.value.push.endpoint
    oidc_token {
      service_account_email = each.value.push.service_account_email
      audience              = each.value.push.audience
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.topics[each.value.dead_letter].id
    max_delivery_attempts = each.value.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "${each.value.min_backoff_s}s"
    maximum_backoff = "${each.value.max_backoff_s}s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# Pull subscriptions (the dead-letter queues the UI reads). They never expire.
resource "google_pubsub_subscription" "pull" {
  for_each                   = local.pull_subscriptions
  project                    = var.project_id
  name                       = each.value.name
  topic                      = google_pubsub_topic.topics[each.value.topic].id
  ack_deadline_seconds       = each.value.ack_deadline_s
  message_retention_duration = "${each.value.retention_s}s"
  labels                     = var.labels

  dynamic "dead_letter_policy" {
    for_each = each.value.dead_letter == null ? [] : [each.value]
    content {
      dead_letter_topic     = google_pubsub_topic.topics[dead_letter_policy.value.dead_letter].id
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }

  retry_policy {
    minimum_backoff = "${each.value.min_backoff_s}s"
    maximum_backoff = "${each.value.max_backoff_s}s"
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "subscribers" {
  for_each     = local.subscribers
  project      = var.project_id
  subscription = var.subscriptions[each.value.subscription].name
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
  depends_on   = [google_pubsub_subscription.push, google_pubsub_subscription.pull]
}

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics
  project  = var.project_id
  topic    = google_pubsub_topic.topics[each.value].name
  role     = "roles/pubsub.publisher"
  member   = var.service_agent_member
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each     = local.forwarding
  project      = var.project_id
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = var.service_agent_member
  depends_on   = [google_pubsub_subscription.push, google_pubsub_subscription.pull]
}
