"""Tenants application layer: ports and the handlers that use them."""
