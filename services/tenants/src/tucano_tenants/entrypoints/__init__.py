"""Entry points: how the outside world reaches the application (gRPC)."""
