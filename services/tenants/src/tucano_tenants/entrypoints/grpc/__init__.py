"""gRPC servicers and the access policy of the tenants service."""
