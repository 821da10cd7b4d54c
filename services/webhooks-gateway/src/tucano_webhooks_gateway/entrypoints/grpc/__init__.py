"""gRPC servicers and the access policy of the webhooks gateway."""
