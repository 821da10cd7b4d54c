"""Adapters of the messaging service."""
