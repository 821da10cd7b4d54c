"""gRPC servicers and the access policy of the campaigns service."""
