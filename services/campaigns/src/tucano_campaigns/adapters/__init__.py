"""Adapters of the campaigns service."""
