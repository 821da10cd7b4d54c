"""Campaigns application layer: ports, commands and their handlers."""
