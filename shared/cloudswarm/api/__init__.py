"""The HTTP API, auth and webhooks."""
