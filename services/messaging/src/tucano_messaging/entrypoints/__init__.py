"""Entry points of the messaging service."""
