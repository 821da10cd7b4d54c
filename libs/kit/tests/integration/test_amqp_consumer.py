"""The kit's `consume()` against the real broker: poison messages (R6) and a broker-closed
connection with unacked deliveries (R10 style)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from tucano_kit.amqp import TOPOLOGY, Publisher, connect
from tucano_kit.amqp.consumer import consume
from tucano_kit.amqp.topology import MESSAGING, SEND_DELIVERY_LIMIT, SEND_DLQ, SEND_QUEUE

from . import amqp_support as support

amqp = support.amqp
prefix = support.prefix
publisher = support.publisher
service_db = support.service_db

pytestmark = pytest.mark.integration


async def test_a_poison_message_is_dead_lettered_after_the_delivery_limit(
        amqp: AbstractRobustConnection, publisher: Publisher, prefix: str) -> None:
    # The real topology's arguments under scratch names: work queue with x-delivery-limit
    # and at-least-once dead-lettering to the DLX's DLQ.
    topology = support.renamed(TOPOLOGY, prefix)
    work, dlq = f"{prefix}.{SEND_QUEUE}", f"{prefix}.{SEND_DLQ}"
    poison_deliveries: list[Any] = []
    good: Counter[str] = Counter()

    async def handler(message: AbstractIncomingMessage) -> None:
        if message.message_id == "poison":
            poison_deliveries.append((message.headers or {}).get("x-delivery-count"))
            raise ValueError("this payload always fails")
        assert message.message_id
        good[message.message_id] += 1

    async with support.scratch_topology(amqp, topology):
        ids = ["poison", *(f"good-{i}" for i in range(30))]
        for message_id in ids:
            await publisher.publish(exchange=f"{prefix}.{MESSAGING}", routing_key=work,
                                    body=message_id.encode(), message_id=message_id,
                                    message_type="test", headers={"x-error-code": "test"})
        async with (support.background(consume(amqp, work, handler, prefetch=10)) as task,
                    support.collecting(amqp, dlq) as dead):
            await support.eventually(lambda: len(good) == 30 and len(dead.messages) == 1,
                                     within=30, tasks=[task],
                                     what="30 good messages handled and 1 dead-lettered")
            await asyncio.sleep(0.5)  # nothing else shows up
            assert await support.queue_depth(amqp, work) == 0

    assert good == Counter({f"good-{i}": 1 for i in range(30)})
    # 3.10 dead-letters once x-delivery-count exceeds the limit: limit + 1 deliveries.
    assert len(poison_deliveries) == SEND_DELIVERY_LIMIT + 1, poison_deliveries
    assert poison_deliveries[0] is None
    assert poison_deliveries[1:] == list(range(1, SEND_DELIVERY_LIMIT + 1))
    [dead_letter] = dead.messages
    assert dead_letter.message_id == "poison"
    assert dead_letter.headers["x-first-death-reason"] == "delivery_limit"
    assert dead_letter.headers["x-first-death-queue"] == work
    assert dead_letter.headers["x-first-death-exchange"] == f"{prefix}.{MESSAGING}"
    [death] = dead_letter.headers["x-death"]
    assert death["reason"] == "delivery_limit" and death["queue"] == work
    assert dead_letter.headers["x-error-code"] == "test"  # the publisher's headers survive
    assert dead_letter.body == b"poison"


async def _close_by_name(connection_name: str) -> None:
    """Have the broker force-close our connection (and only ours), found by its name."""
    listing = await support.rabbitmqctl("list_connections", "pid", "client_properties",
                                        "--no-table-headers")
    pids = [line.split("\t", 1)[0] for line in listing.splitlines()
            if f'{{"connection_name","{connection_name}"}}' in line]
    assert len(pids) == 1, listing
    await support.rabbitmqctl("close_connection", pids[0], "kit integration test")


async def test_consumer_resumes_after_the_broker_closes_its_connection(
        amqp_url: str, amqp: AbstractRobustConnection, publisher: Publisher, prefix: str,
        service_db: support.ServiceDb) -> None:
    name = f"{prefix}.consumer"
    topology = support.work_topology(prefix)
    queue = f"{prefix}.q"
    hold = asyncio.Event()
    consumer = support.DedupeConsumer(service_db.pool, "reconnect", hold=hold)
    reconnected = asyncio.Event()
    connection = await connect(amqp_url, name=name)
    connection.reconnect_callbacks.add(lambda *_: reconnected.set())
    try:
        async with support.scratch_topology(amqp, topology):
            first = [f"first-{i}" for i in range(50)]
            for message_id in first:
                await publisher.publish(exchange=f"{prefix}.x", routing_key="k", body=b"m",
                                        message_id=message_id, message_type="test")
            async with support.background(consumer.run(connection, queue)) as task:
                # 50 deliveries in flight: effects committed, acks not sent yet.
                await support.eventually(lambda: consumer.in_handler == 50, within=20,
                                         tasks=[task], what="50 unacked deliveries in flight")
                await _close_by_name(name)
                hold.set()  # their acks now go to a dead channel: logged, not raised
                await support.eventually(reconnected.is_set, within=30, tasks=[task],
                                         what="the robust connection to reconnect")
                # The broker requeued all 50: each comes back (redelivered) and is deduped.
                await support.eventually(
                    lambda: all(consumer.deliveries[m] >= 2 for m in first), within=30,
                    tasks=[task], what="the 50 unacked messages to be redelivered")
                # Consumption resumes for new messages too.
                later = [f"later-{i}" for i in range(20)]
                for message_id in later:
                    await publisher.publish(exchange=f"{prefix}.x", routing_key="k",
                                            body=b"m", message_id=message_id,
                                            message_type="test")
                await support.eventually(lambda: all(consumer.deliveries[m] for m in later),
                                         within=20, tasks=[task],
                                         what="messages published after the reconnect")
                await support.eventually(lambda: _settled(queue), within=20, interval=0.5,
                                         what="no message left ready or unacked")
    finally:
        await connection.close()

    assert consumer.redeliveries >= 50
    effects = await service_db.effects("reconnect")
    assert effects == Counter({m: 1 for m in [*first, *later]})  # each applied exactly once


async def _settled(queue: str) -> bool:
    rows = await support.rabbitmqctl_json("list_queues", "name", "messages")
    return any(r["name"] == queue and r["messages"] == 0 for r in rows)
