"""Adapters: PostgreSQL (and later Redis) implementations of the application's ports."""
