"""Adapters of the auth service: PostgreSQL, key cryptography, token signing."""
