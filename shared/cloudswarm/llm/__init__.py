"""The Anthropic adapter."""
