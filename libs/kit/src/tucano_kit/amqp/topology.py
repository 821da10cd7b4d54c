"""Tucano's RabbitMQ topology (ARCHITECTURE.md, "RabbitMQ topology"), declared idempotently.

RabbitMQ 3.10 has no delayed-message plugin here, so retry delays are one quorum queue per tier
with a fixed `x-message-ttl` that dead-letters back to the work exchange: one TTL per queue, so
a short delay never waits behind a long one. Quorum queues get an explicit `x-delivery-limit`
(3.10 has no default) and at-least-once dead-lettering, which requires `x-overflow:
reject-publish`. Re-declaring with the same arguments is a no-op; with different ones RabbitMQ
refuses (PRECONDITION_FAILED), which `declare_topology` reports by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

EVENTS = "tucano.events"
MESSAGING = "tucano.messaging"
DELAY = "tucano.delay"
DLX = "tucano.dlx"
SEND_QUEUE = "message.send"
SEND_DLQ = "message.send.dlq"
SEND_DELIVERY_LIMIT = 10
RETRY_TIERS: dict[str, int] = {"5s": 5_000, "30s": 30_000, "2m": 120_000, "10m": 600_000,
                               "1h": 3_600_000}


def retry_queue(tier: str) -> str:
    return f"{SEND_QUEUE}.retry.{tier}"


@dataclass(frozen=True)
class Exchange:
    name: str
    kind: aio_pika.ExchangeType


@dataclass(frozen=True)
class Queue:
    name: str
    exchange: str
    routing_key: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Topology:
    exchanges: list[Exchange]
    queues: list[Queue]


def _quorum(**extra: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **extra}


_AT_LEAST_ONCE = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}

TOPOLOGY = Topology(
    exchanges=[
        Exchange(EVENTS, aio_pika.ExchangeType.TOPIC),
        Exchange(MESSAGING, aio_pika.ExchangeType.DIRECT),
        Exchange(DELAY, aio_pika.ExchangeType.DIRECT),
        Exchange(DLX, aio_pika.ExchangeType.DIRECT),
    ],
    queues=[
        Queue(SEND_QUEUE, MESSAGING, SEND_QUEUE, _quorum(
            **{"x-delivery-limit": SEND_DELIVERY_LIMIT, "x-dead-letter-exchange": DLX,
               "x-dead-letter-routing-key": SEND_DLQ}, **_AT_LEAST_ONCE)),
        Queue(SEND_DLQ, DLX, SEND_DLQ, _quorum()),
        *[Queue(retry_queue(tier), DELAY, retry_queue(tier), _quorum(
            **{"x-message-ttl": ttl, "x-dead-letter-exchange": MESSAGING,
               "x-dead-letter-routing-key": SEND_QUEUE}, **_AT_LEAST_ONCE))
          for tier, ttl in RETRY_TIERS.items()],
    ],
)


class TopologyError(Exception):
    pass


async def declare_topology(connection: AbstractRobustConnection,
                           topology: Topology = TOPOLOGY) -> None:
    """Declare every exchange, queue and binding; safe to call on every start."""
    channel: AbstractChannel = await connection.channel()
    try:
        exchanges = {}
        for ex in topology.exchanges:
            try:
                exchanges[ex.name] = await channel.declare_exchange(
                    ex.name, ex.kind, durable=True)
            except aio_pika.exceptions.ChannelPreconditionFailed as exc:
                raise TopologyError(
                    f"exchange {ex.name} exists with other properties than"
                    f" {ex.kind.value}, durable: {exc}"
                ) from exc
        for q in topology.queues:
            try:
                queue = await channel.declare_queue(q.name, durable=True, arguments=q.arguments)
            except aio_pika.exceptions.ChannelPreconditionFailed as exc:
                raise TopologyError(
                    f"queue {q.name} exists with other arguments than {q.arguments}: {exc}"
                ) from exc
            await queue.bind(exchanges[q.exchange], routing_key=q.routing_key)
    finally:
        if not channel.is_closed:
            await channel.close()
