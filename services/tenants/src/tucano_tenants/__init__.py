"""tucano_tenants."""
