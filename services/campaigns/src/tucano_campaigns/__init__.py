"""tucano_campaigns."""
