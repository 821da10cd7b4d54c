"""Entry points of the auth service."""
