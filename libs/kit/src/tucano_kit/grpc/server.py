"""grpc.aio server bootstrap: services, health (grpc.health.v1), reflection, graceful stop.

Start-up refuses a service whose RPCs are not all covered by the access policy. Stopping
first flips health to NOT_SERVING (load balancers and the stack stop routing), then gives
in-flight RPCs `grace` seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from tucano_kit.auth import Policy, TenantGate, TokenVerifier
from tucano_kit.grpc.interceptors import RequestInterceptor

log = logging.getLogger("tucano.grpc")

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # Meta's webhooks reach 3 MB; leave headroom


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer and how to register it: `ServiceBinding(DESCRIPTOR.services_by_name[...],
    add_XServicer_to_server, servicer)`."""

    descriptor: ServiceDescriptor
    register: Callable[[Any, grpc.aio.Server], None]
    servicer: Any


class UncoveredMethodsError(Exception):
    pass


def check_policy(bindings: Sequence[ServiceBinding], policy: Policy) -> None:
    """Every RPC needs an access entry; entries for unknown RPCs are mistakes too."""
    methods = {f"/{b.descriptor.full_name}/{m.name}"
               for b in bindings for m in b.descriptor.methods}
    missing, unknown = sorted(methods - set(policy)), sorted(set(policy) - methods)
    if missing or unknown:
        raise UncoveredMethodsError(f"access policy mismatch: missing={missing} unknown={unknown}")


class GrpcServer:
    """One grpc.aio server with Tucano's interceptor, health and reflection."""

    def __init__(self, *, domain: str, bindings: Sequence[ServiceBinding], policy: Policy,
                 verifier: TokenVerifier | None, host: str, port: int,
                 gate: TenantGate | None = None,
                 extra_interceptors: Sequence[grpc.aio.ServerInterceptor] = ()):
        check_policy(bindings, policy)
        self._bindings = list(bindings)
        self._host, self._requested_port = host, port
        self.interceptor = RequestInterceptor(domain=domain, policy=policy, verifier=verifier,
                                              gate=gate)
        self._server = grpc.aio.server(
            interceptors=[*extra_interceptors, self.interceptor],
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                     ("grpc.so_reuseport", 0)])
        self.health = health.aio.HealthServicer()
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self._host}:{self.port}"

    async def start(self) -> None:
        for binding in self._bindings:
            binding.register(binding.servicer, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        names = [b.descriptor.full_name for b in self._bindings]
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME], self._server)
        self.port = self._server.add_insecure_port(f"{self._host}:{self._requested_port}")
        if self.port == 0:
            raise OSError(f"cannot bind gRPC server to {self._host}:{self._requested_port}")
        await self._server.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc server listening", extra={"address": self.address, "services": names})

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace)
        log.info("grpc server stopped")

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()
