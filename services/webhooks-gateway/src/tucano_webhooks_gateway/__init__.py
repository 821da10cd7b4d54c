"""tucano_webhooks_gateway."""
