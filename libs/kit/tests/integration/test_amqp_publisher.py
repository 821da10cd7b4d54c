"""The kit's confirming publisher against the real broker (reliability.md B1: unroutable
messages are confirmed anyway, so mandatory publishes must turn a basic.return into an error)."""

from __future__ import annotations

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from tucano_kit.amqp import Publisher, PublishError
from tucano_kit.amqp.topology import Exchange, Topology

from . import amqp_support as support

amqp = support.amqp
prefix = support.prefix
publisher = support.publisher

pytestmark = pytest.mark.integration


async def test_confirmed_publish_arrives_persistent_with_its_properties(
        amqp: AbstractRobustConnection, publisher: Publisher, prefix: str) -> None:
    topology = support.work_topology(prefix)
    async with support.scratch_topology(amqp, topology):
        await publisher.publish(exchange=f"{prefix}.x", routing_key="k", body=b"payload",
                                message_id="id-1", message_type="test.v1",
                                headers={"x-request-id": "req-1"})
        # Confirmed means queued: the message is there before anyone consumes.
        assert await support.queue_depth(amqp, f"{prefix}.q") == 1
        channel = await amqp.channel()
        try:
            queue = await channel.get_queue(f"{prefix}.q")
            message = await queue.get(timeout=5)
            await message.ack()
        finally:
            await channel.close()
    assert message.body == b"payload"
    assert message.message_id == "id-1"
    assert message.type == "test.v1"
    assert message.content_type == "application/x-protobuf"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.headers["x-request-id"] == "req-1"


async def test_unroutable_mandatory_publish_raises_and_the_publisher_keeps_working(
        amqp: AbstractRobustConnection, publisher: Publisher, prefix: str) -> None:
    topology = support.work_topology(prefix)
    async with support.scratch_topology(amqp, topology):
        with pytest.raises(PublishError, match="NO_ROUTE"):
            await publisher.publish(exchange=f"{prefix}.x", routing_key="nobody-bound",
                                    body=b"lost?", message_id="id-2", message_type="test")
        await publisher.publish(exchange=f"{prefix}.x", routing_key="k", body=b"fine",
                                message_id="id-3", message_type="test")
        assert await support.queue_depth(amqp, f"{prefix}.q") == 1


async def test_non_mandatory_publish_to_a_topic_without_subscribers_succeeds(
        amqp: AbstractRobustConnection, publisher: Publisher, prefix: str) -> None:
    topology = Topology([Exchange(f"{prefix}.events", aio_pika.ExchangeType.TOPIC)], [])
    async with support.scratch_topology(amqp, topology):
        await publisher.publish(exchange=f"{prefix}.events", routing_key="tenant.created.t1",
                                body=b"event", message_id="id-4", message_type="test",
                                mandatory=False)
        with pytest.raises(PublishError):  # the same publish, mandatory, is refused
            await publisher.publish(exchange=f"{prefix}.events",
                                    routing_key="tenant.created.t1", body=b"event",
                                    message_id="id-5", message_type="test")


async def test_publish_to_a_missing_exchange_raises_publish_error_then_recovers(
        amqp: AbstractRobustConnection, prefix: str) -> None:
    """A 404 closes the channel; the error is a PublishError and the robust channel reopens."""
    publisher = await Publisher.open(amqp, timeout_s=5.0)
    topology = support.work_topology(prefix)
    try:
        async with support.scratch_topology(amqp, topology):
            with pytest.raises(PublishError, match="NOT_FOUND"):
                await publisher.publish(exchange=f"{prefix}.missing", routing_key="k",
                                        body=b"x", message_id="id-6", message_type="test")

            async def publishes() -> bool:
                try:
                    await publisher.publish(exchange=f"{prefix}.x", routing_key="k",
                                            body=b"y", message_id="id-7", message_type="test")
                except PublishError:
                    return False
                return True

            await support.eventually(publishes, within=15, interval=0.2,
                                     what="the publisher's channel to be restored")
    finally:
        await publisher.close()
