"""Trace context crosses process boundaries: gRPC metadata in, AMQP headers out and in."""

from __future__ import annotations

import asyncio
import contextlib

import grpc.aio
import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.amqp.connection import connect
from tucano_kit.amqp.consumer import consume
from tucano_kit.amqp.publisher import Publisher
from tucano_kit.auth import Access
from tucano_kit.grpc import GrpcServer, ServiceBinding

pytestmark = pytest.mark.integration

SERVICE = tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"]


@pytest.fixture(scope="module")
def tracer() -> trace.Tracer:
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):  # the first test to need one installs it
        current = TracerProvider()
        current.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        trace.set_tracer_provider(current)
    return current.get_tracer("test")


def current_trace_id() -> int:
    return trace.get_current_span().get_span_context().trace_id


class Recording(tenants_pb2_grpc.TenantsServiceServicer):
    seen: list[int]

    def __init__(self) -> None:
        self.seen = []

    async def ListPlans(self, request: object, context: object) -> tenants_pb2.ListPlansResponse:
        self.seen.append(current_trace_id())
        return tenants_pb2.ListPlansResponse()


async def test_a_grpc_call_continues_the_callers_trace(tracer: trace.Tracer) -> None:
    servicer = Recording()
    server = GrpcServer(domain="t", verifier=None, host="127.0.0.1", port=0,
                        policy={f"/{SERVICE.full_name}/{m.name}": Access.public()
                                for m in SERVICE.methods},
                        bindings=[ServiceBinding(
                            SERVICE, tenants_pb2_grpc.add_TenantsServiceServicer_to_server,
                            servicer)])
    await server.start()
    try:
        with tracer.start_as_current_span("caller") as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            async with grpc.aio.insecure_channel(server.address) as channel:
                await tenants_pb2_grpc.TenantsServiceStub(channel).ListPlans(
                    tenants_pb2.ListPlansRequest(), metadata=tuple(carrier.items()))
        assert servicer.seen == [span.get_span_context().trace_id]
    finally:
        await server.stop(0)


async def test_a_consumer_continues_the_publishers_trace(tracer: trace.Tracer, amqp_url: str,
                                                         unique: str) -> None:
    connection = await connect(amqp_url, name="trace-test")
    seen: asyncio.Queue[int] = asyncio.Queue()

    async def handler(message: object) -> None:
        await seen.put(current_trace_id())

    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(f"test.trace.{unique}", auto_delete=True)
        queue = await channel.declare_queue(f"test.trace.{unique}", exclusive=True)
        await queue.bind(exchange, "k")
        publisher = await Publisher.open(connection)
        with tracer.start_as_current_span("producer") as span:
            await publisher.publish(exchange=exchange.name, routing_key="k", body=b"x",
                                    message_id="m1", message_type="test")
        consumer = asyncio.create_task(consume(connection, queue.name, handler, prefetch=1))
        try:
            got = await asyncio.wait_for(seen.get(), 15)
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        assert got == span.get_span_context().trace_id != 0
        await publisher.close()
    finally:
        await connection.close()

