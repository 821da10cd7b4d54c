"""tucano_messaging."""
