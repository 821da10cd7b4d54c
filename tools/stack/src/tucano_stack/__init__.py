"""tucano_stack."""
