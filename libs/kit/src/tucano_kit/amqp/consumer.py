"""Consuming a queue: ack after the handler's effects are committed, requeue on failure.

Failures are nacked with requeue; the quorum queue's `x-delivery-limit` then dead-letters a
poison message instead of looping forever. After a reconnect, delivery tags of the old channel
are void: acking one raises, which is logged and ignored because the broker redelivers the
message and the handler's inbox makes the redelivery a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from opentelemetry import context as otel_context
from opentelemetry import trace

from tucano_kit import context
from tucano_kit.telemetry import extract_context

log = logging.getLogger("tucano.consumer")
_tracer = trace.get_tracer("tucano_kit.amqp")

Handler = Callable[[AbstractIncomingMessage], Awaitable[None]]


async def _handle(queue: str, message: AbstractIncomingMessage, handler: Handler) -> None:
    headers = dict(message.headers or {})
    token = otel_context.attach(extract_context(headers))
    rid = context.request_id.set(str(headers.get("x-request-id") or message.message_id))
    try:
        with _tracer.start_as_current_span(f"consume {queue}", kind=trace.SpanKind.CONSUMER):
            try:
                await handler(message)
            except Exception:
                log.exception("handler failed; requeueing",
                              extra={"queue": queue, "message_id": message.message_id})
                await _settle(message, ack=False)
                return
            await _settle(message, ack=True)
    finally:
        context.request_id.reset(rid)
        otel_context.detach(token)


async def _settle(message: AbstractIncomingMessage, *, ack: bool) -> None:
    try:
        if ack:
            await message.ack()
        else:
            await message.nack(requeue=True)
    except (aio_pika.exceptions.ChannelInvalidStateError, aio_pika.exceptions.AMQPError,
            RuntimeError) as exc:
        log.warning("could not settle message (channel reset); the broker will redeliver it",
                    extra={"message_id": message.message_id, "error": repr(exc)})


async def consume(connection: AbstractRobustConnection, queue_name: str, handler: Handler, *,
                  prefetch: int = 100) -> None:
    """Consume `queue_name` until cancelled, handling up to `prefetch` messages concurrently."""
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    queue = await channel.get_queue(queue_name, ensure=True)
    tasks: set[asyncio.Task[None]] = set()
    try:
        async with queue.iterator() as messages:
            async for message in messages:
                task = asyncio.create_task(_handle(queue_name, message, handler))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        if not channel.is_closed:
            await channel.close()
