"""Adapters of the webhooks gateway."""
