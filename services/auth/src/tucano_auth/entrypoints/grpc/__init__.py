"""gRPC servicers and the access policy of the auth service."""
