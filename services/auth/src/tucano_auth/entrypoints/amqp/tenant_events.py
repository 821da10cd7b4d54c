"""Consumes `tenant.member_removed` and `tenant.closed` from tucano.events into auth's own
queue (quorum, with a delivery limit and a dead-letter queue for poison messages)."""

from __future__ import annotations

import uuid

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from tucano.tenants.v1 import events_pb2
from tucano_kit.amqp.consumer import consume
from tucano_kit.amqp.topology import (
    DLX,
    EVENTS,
    Exchange,
    Queue,
    Topology,
    declare_topology,
)

from tucano_auth.application.ports import AuthStore
from tucano_auth.application.tenant_events import (
    CONSUMER,
    MemberRemoved,
    TenantClosed,
    handle_tenant_event,
)

DLQ = f"{CONSUMER}.dlq"
TOPOLOGY = Topology(
    exchanges=[Exchange(EVENTS, aio_pika.ExchangeType.TOPIC),  # as in the shared topology
               Exchange(DLX, aio_pika.ExchangeType.DIRECT)],
    queues=[
        Queue(CONSUMER, EVENTS, "tenant.member_removed",
              {"x-queue-type": "quorum", "x-delivery-limit": 20,
               "x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": DLQ}),
        Queue(CONSUMER, EVENTS, "tenant.closed",
              {"x-queue-type": "quorum", "x-delivery-limit": 20,
               "x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": DLQ}),
        Queue(DLQ, DLX, DLQ, {"x-queue-type": "quorum"}),
    ])


def parse(message: AbstractIncomingMessage) -> MemberRemoved | TenantClosed | None:
    if message.type == "tucano.tenants.v1.MemberRemoved":
        removed = events_pb2.MemberRemoved.FromString(message.body)
        return MemberRemoved(uuid.UUID(removed.tenant_id), uuid.UUID(removed.user_id))
    if message.type == "tucano.tenants.v1.TenantClosed":
        return TenantClosed(uuid.UUID(events_pb2.TenantClosed.FromString(message.body).tenant_id))
    return None


async def run(connection: AbstractRobustConnection, store: AuthStore) -> None:
    await declare_topology(connection, TOPOLOGY)

    async def handler(message: AbstractIncomingMessage) -> None:
        event = parse(message)
        if event is not None:
            await handle_tenant_event(event, str(message.message_id), store)

    await consume(connection, CONSUMER, handler, prefetch=50)
