"""Messaging application layer: ports and handlers."""
