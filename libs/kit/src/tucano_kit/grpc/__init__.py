"""gRPC plumbing: server bootstrap and interceptors (see server.py and interceptors.py)."""

from tucano_kit.grpc.server import GrpcServer, ServiceBinding

__all__ = ["GrpcServer", "ServiceBinding"]
