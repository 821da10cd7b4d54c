"""Entry points of the webhooks gateway."""
