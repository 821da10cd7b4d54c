"""Publishing with publisher confirms: `publish` returns only once the broker has the message.

Unroutable messages are confirmed by RabbitMQ anyway; with `mandatory=True` (the default) they
come back as a `basic.return` and `publish` raises, so a job never silently vanishes. Events on
the topic exchange may go to no queue at all (no subscriber yet), so they publish non-mandatory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustConnection
from pamqp.commands import Basic

from tucano_kit.telemetry import inject_headers


class PublishError(Exception):
    """The broker did not take the message (nack, return, closed channel or timeout)."""


class Publisher:
    def __init__(self, channel: AbstractChannel, timeout_s: float = 10.0):
        self._channel = channel
        self._timeout = timeout_s
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}

    @classmethod
    async def open(cls, connection: AbstractRobustConnection, timeout_s: float = 10.0
                   ) -> Publisher:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        return cls(channel, timeout_s)

    async def close(self) -> None:
        if not self._channel.is_closed:
            await self._channel.close()

    async def _exchange(self, name: str) -> aio_pika.abc.AbstractExchange:
        if name not in self._exchanges:
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        return self._exchanges[name]

    async def publish(self, *, exchange: str, routing_key: str, body: bytes, message_id: str,
                      message_type: str, content_type: str = "application/x-protobuf",
                      headers: Mapping[str, Any] | None = None, mandatory: bool = True) -> None:
        message = aio_pika.Message(
            body, message_id=message_id, type=message_type, content_type=content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=dict(inject_headers(dict(headers or {}))))
        try:
            target = await self._exchange(exchange)
            confirm = await asyncio.wait_for(
                target.publish(message, routing_key, mandatory=mandatory), self._timeout)
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishError(f"publish to {exchange}/{routing_key} failed: {exc!r}") from exc
        if not isinstance(confirm, Basic.Ack):
            raise PublishError(f"broker did not confirm {exchange}/{routing_key}: {confirm!r}")
