"""ChannelsService on a real gRPC server against real PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import grpc.aio
import pytest
from tucano.messaging.v1 import channels_pb2, channels_pb2_grpc
from tucano_kit.postgres import tenant_transaction
from tucano_kit.testing import TokenFactory, expect_failure
from tucano_messaging.bootstrap import App

pytestmark = pytest.mark.integration


async def add_channel(app: App, tenant: uuid.UUID, phone_number_id: str) -> None:
    # Channel creation arrives with the channels issue; until then rows are written through
    # the service's own pool and role, under the tenant's RLS, as the repository will.
    async with tenant_transaction(app.pool, tenant) as conn:
        await conn.execute(
            "INSERT INTO channels (id, tenant_id, waba_id, phone_number_id) VALUES"
            " ($1, $2, '100200300', $3)", uuid.uuid4(), tenant, phone_number_id)


async def test_channels_are_listed_per_tenant_and_paged(
        messaging: tuple[App, grpc.aio.Channel], tokens: TokenFactory) -> None:
    app, channel = messaging
    stub = channels_pb2_grpc.ChannelsServiceStub(channel)
    a, b = uuid.uuid4(), uuid.uuid4()
    for n in range(5):
        await add_channel(app, a, f"10{n}")
    await add_channel(app, b, "999")
    md = tokens.metadata(tenant_id=str(a), role="viewer")
    seen, token = [], ""
    for _ in range(5):
        page = await stub.ListChannels(
            channels_pb2.ListChannelsRequest(page_size=2, page_token=token), metadata=md)
        seen += [c.phone_number_id for c in page.channels]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"10{n}" for n in range(5)]
    theirs = await stub.ListChannels(channels_pb2.ListChannelsRequest(),
                                     metadata=tokens.metadata(tenant_id=str(b), role="viewer"))
    assert [c.phone_number_id for c in theirs.channels] == ["999"]


async def test_listing_channels_needs_a_token(messaging: tuple[App, grpc.aio.Channel]) -> None:
    stub = channels_pb2_grpc.ChannelsServiceStub(messaging[1])
    failure = await expect_failure(stub.ListChannels(channels_pb2.ListChannelsRequest()))
    assert failure.code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_negative_page_size_is_invalid(messaging: tuple[App, grpc.aio.Channel],
                                               tokens: TokenFactory) -> None:
    stub = channels_pb2_grpc.ChannelsServiceStub(messaging[1])
    failure = await expect_failure(stub.ListChannels(
        channels_pb2.ListChannelsRequest(page_size=-1),
        metadata=tokens.metadata(tenant_id=str(uuid.uuid4()))))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in failure.field_violations
