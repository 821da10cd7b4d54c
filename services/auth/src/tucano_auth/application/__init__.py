"""Auth application layer: ports and handlers."""
