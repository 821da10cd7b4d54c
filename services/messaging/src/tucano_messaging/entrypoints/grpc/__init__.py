"""gRPC servicers and the access policy of the messaging service."""
