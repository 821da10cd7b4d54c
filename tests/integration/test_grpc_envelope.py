"""The kit's gRPC envelope on a real server: errors, health, policy coverage, request ids."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit import context
from tucano_kit.auth import Access, Role
from tucano_kit.errors import FailedPrecondition
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.grpc.server import UncoveredMethodsError
from tucano_kit.logs import ContextFilter, json_handler
from tucano_kit.testing import TokenFactory, expect_failure

SERVICE = tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"]
POLICY = {f"/{SERVICE.full_name}/{m.name}": Access.public() for m in SERVICE.methods}


class Exploding(tenants_pb2_grpc.TenantsServiceServicer):
    def __init__(self, error: Exception):
        self.error = error

    async def ListPlans(self, request: object, context: object) -> object:
        logging.getLogger("test.servicer").info("inside the handler")
        raise self.error


async def serve(error: Exception) -> GrpcServer:
    server = GrpcServer(domain="test.tucano", policy=POLICY, verifier=None, host="127.0.0.1",
                        port=0, bindings=[ServiceBinding(
                            SERVICE, tenants_pb2_grpc.add_TenantsServiceServicer_to_server,
                            Exploding(error))])
    await server.start()
    return server


@pytest.fixture
async def channel_to() -> AsyncIterator[list[GrpcServer]]:
    servers: list[GrpcServer] = []
    yield servers
    for server in servers:
        await server.stop(0)


async def test_an_unexpected_exception_is_internal_with_a_trace_id_and_no_internals(
        channel_to: list[GrpcServer]) -> None:
    server = await serve(RuntimeError("password=hunter2 in a stack frame"))
    channel_to.append(server)
    async with grpc.aio.insecure_channel(server.address) as channel:
        failure = await expect_failure(tenants_pb2_grpc.TenantsServiceStub(channel).ListPlans(
            tenants_pb2.ListPlansRequest(), metadata=(("x-request-id", "req-42"),)))
    assert failure.code == grpc.StatusCode.INTERNAL
    # The reference is the trace id when tracing is configured (services always configure it).
    assert re.fullmatch(r"internal error \((trace [0-9a-f]{32}|request req-42)\)",
                        failure.message)
    assert "hunter2" not in failure.message


async def test_a_domain_error_keeps_its_code_reason_and_domain(
        channel_to: list[GrpcServer]) -> None:
    server = await serve(FailedPrecondition("TENANT_SUSPENDED", "the tenant is suspended"))
    channel_to.append(server)
    async with grpc.aio.insecure_channel(server.address) as channel:
        failure = await expect_failure(tenants_pb2_grpc.TenantsServiceStub(channel).ListPlans(
            tenants_pb2.ListPlansRequest()))
    assert (failure.code, failure.reason, failure.domain, failure.message) == (
        grpc.StatusCode.FAILED_PRECONDITION, "TENANT_SUSPENDED", "test.tucano",
        "the tenant is suspended")


async def test_logs_inside_an_rpc_carry_the_callers_request_id(
        channel_to: list[GrpcServer], caplog: pytest.LogCaptureFixture) -> None:
    server = await serve(RuntimeError("boom"))
    channel_to.append(server)
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(ContextFilter())
    async with grpc.aio.insecure_channel(server.address) as channel:
        await expect_failure(tenants_pb2_grpc.TenantsServiceStub(channel).ListPlans(
            tenants_pb2.ListPlansRequest(), metadata=(("x-request-id", "req-123"),)))
    assert context.request_id.get() is None  # reset after the call
    inside = [r for r in caplog.records if r.getMessage() == "inside the handler"]
    access = [r for r in caplog.records if r.getMessage() == "rpc"]
    assert [getattr(r, "request_id", None) for r in inside] == ["req-123"]
    assert [(getattr(r, "request_id", None), getattr(r, "grpc_code", None)) for r in access] == [
        ("req-123", "INTERNAL")]


async def test_a_log_line_is_json_with_the_request_trace_and_tenant_of_the_rpc() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first test to need one installs it
        trace.set_tracer_provider(TracerProvider())
    tokens = TokenFactory()
    server = GrpcServer(domain="test.tucano", verifier=tokens.verifier(), host="127.0.0.1",
                        port=0, policy={**POLICY, f"/{SERVICE.full_name}/ListPlans":
                                        Access.tenant(Role.VIEWER)},
                        bindings=[ServiceBinding(
                            SERVICE, tenants_pb2_grpc.add_TenantsServiceServicer_to_server,
                            Exploding(FailedPrecondition("X", "x")))])
    await server.start()
    out = io.StringIO()
    handler = json_handler("envelope-test", out)
    logger = logging.getLogger("test.servicer")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            await expect_failure(tenants_pb2_grpc.TenantsServiceStub(channel).ListPlans(
                tenants_pb2.ListPlansRequest(), metadata=(
                    ("x-request-id", "req-json"),
                    *tokens.metadata(tenant_id="7e1d4a4e-0000-4000-8000-000000000001"))))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        await server.stop(0)
    [line] = out.getvalue().splitlines()
    entry = json.loads(line)
    assert {k: entry[k] for k in ("service", "level", "logger", "message", "request_id",
                                  "tenant_id")} == {
        "service": "envelope-test", "level": "INFO", "logger": "test.servicer",
        "message": "inside the handler", "request_id": "req-json",
        "tenant_id": "7e1d4a4e-0000-4000-8000-000000000001"}
    assert re.fullmatch(r"[0-9a-f]{32}", entry["trace_id"]) and entry["ts"]


async def test_health_is_serving_then_not_serving_on_graceful_stop() -> None:
    server = await serve(RuntimeError())
    async with grpc.aio.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE.full_name):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        await server.health.enter_graceful_shutdown()
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    await server.stop(0)


def test_a_server_refuses_rpcs_without_an_access_rule() -> None:
    with pytest.raises(UncoveredMethodsError, match="ListPlans"):
        GrpcServer(domain="t", policy={}, verifier=None, host="127.0.0.1", port=0,
                   bindings=[ServiceBinding(SERVICE,
                                            tenants_pb2_grpc.add_TenantsServiceServicer_to_server,
                                            Exploding(RuntimeError()))])
