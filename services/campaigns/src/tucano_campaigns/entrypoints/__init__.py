"""Entry points of the campaigns service."""
