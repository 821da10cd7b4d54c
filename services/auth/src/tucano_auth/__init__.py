"""tucano_auth."""
