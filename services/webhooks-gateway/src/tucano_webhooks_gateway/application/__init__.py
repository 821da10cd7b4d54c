"""Webhooks application layer: ports and handlers."""
