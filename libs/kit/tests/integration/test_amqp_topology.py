"""The kit's RabbitMQ topology against the real broker (ARCHITECTURE.md "RabbitMQ topology";
reliability.md B1: 3.10 has no default delivery limit, at-least-once dead-lettering needs
quorum + reject-publish + a DLX, one TTL per delay queue)."""

from __future__ import annotations

import dataclasses

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from tucano_kit.amqp import TOPOLOGY, Publisher, declare_topology
from tucano_kit.amqp.topology import (
    DELAY,
    DLX,
    EVENTS,
    MESSAGING,
    SEND_DLQ,
    SEND_QUEUE,
    Topology,
    TopologyError,
    retry_queue,
)

from . import amqp_support as support

amqp = support.amqp
prefix = support.prefix

pytestmark = pytest.mark.integration

# ARCHITECTURE.md: retry tiers 5s / 30s / 2m / 10m / 1h.
DOCUMENTED_TIERS_MS = {"5s": 5_000, "30s": 30_000, "2m": 120_000, "10m": 600_000,
                       "1h": 3_600_000}
AT_LEAST_ONCE = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


async def test_real_topology_is_declared_idempotently_with_the_documented_arguments(
        amqp: AbstractRobustConnection) -> None:
    await declare_topology(amqp)
    await declare_topology(amqp)  # a second start: same arguments, so a no-op, no error

    exchanges = {e["name"]: e for e in await support.rabbitmqctl_json(
        "list_exchanges", "name", "type", "durable")}
    for name, kind in ((EVENTS, "topic"), (MESSAGING, "direct"), (DELAY, "direct"),
                       (DLX, "direct")):
        assert exchanges[name]["type"] == kind, name
        assert exchanges[name]["durable"] is True, name

    queues = {q["name"]: q for q in await support.rabbitmqctl_json(
        "list_queues", "name", "type", "durable", "arguments")}
    declared = {q.name for q in TOPOLOGY.queues}
    assert declared == {SEND_QUEUE, SEND_DLQ, *(retry_queue(t) for t in DOCUMENTED_TIERS_MS)}
    for name in declared:
        assert queues[name]["type"] == "quorum", name
        assert queues[name]["durable"] is True, name

    work = support.table(queues[SEND_QUEUE]["arguments"])
    limit = work.get("x-delivery-limit")
    assert isinstance(limit, int) and limit > 0, "3.10 has no default delivery limit"
    assert work["x-dead-letter-exchange"] == DLX
    assert work["x-dead-letter-routing-key"] == SEND_DLQ
    assert {k: work.get(k) for k in AT_LEAST_ONCE} == AT_LEAST_ONCE
    assert "x-message-ttl" not in work

    for tier, ttl in DOCUMENTED_TIERS_MS.items():
        args = support.table(queues[retry_queue(tier)]["arguments"])
        assert args["x-message-ttl"] == ttl, tier
        assert args["x-dead-letter-exchange"] == MESSAGING, tier
        assert args["x-dead-letter-routing-key"] == SEND_QUEUE, tier
        assert {k: args.get(k) for k in AT_LEAST_ONCE} == AT_LEAST_ONCE, tier

    bindings = {(b["source_name"], b["destination_name"], b["routing_key"])
                for b in await support.rabbitmqctl_json(
                    "list_bindings", "source_name", "destination_name", "routing_key")}
    assert (MESSAGING, SEND_QUEUE, SEND_QUEUE) in bindings
    assert (DLX, SEND_DLQ, SEND_DLQ) in bindings
    for tier in DOCUMENTED_TIERS_MS:
        assert (DELAY, retry_queue(tier), retry_queue(tier)) in bindings


async def test_redeclaring_keeps_queued_messages(amqp: AbstractRobustConnection,
                                                 prefix: str) -> None:
    topology = support.renamed(TOPOLOGY, prefix)
    work = f"{prefix}.{SEND_QUEUE}"
    async with support.scratch_topology(amqp, topology):
        publisher = await Publisher.open(amqp)
        try:
            await publisher.publish(exchange=f"{prefix}.{MESSAGING}", routing_key=work,
                                    body=b"job", message_id="m1", message_type="test")
        finally:
            await publisher.close()
        await support.eventually(lambda: _depth_is(amqp, work, 1), within=10,
                                 what="the job to be queued")
        await declare_topology(amqp, topology)
        await declare_topology(amqp, topology)
        assert await support.queue_depth(amqp, work) == 1


async def _depth_is(amqp: AbstractRobustConnection, queue: str, n: int) -> bool:
    return await support.queue_depth(amqp, queue) == n


def _with_queue_args(topology: Topology, queue: str, **changes: object) -> Topology:
    queues = [dataclasses.replace(q, arguments={**q.arguments, **changes}) if q.name == queue
              else q for q in topology.queues]
    return Topology(topology.exchanges, queues)


@pytest.mark.parametrize(("queue", "argument", "value"), [
    (SEND_QUEUE, "x-delivery-limit", 3),
    (SEND_QUEUE, "x-dead-letter-strategy", "at-most-once"),
    (retry_queue("30s"), "x-message-ttl", 31_000),
])
async def test_changed_queue_arguments_raise_topology_error_naming_the_queue(
        amqp: AbstractRobustConnection, prefix: str, queue: str, argument: str,
        value: object) -> None:
    topology = support.renamed(TOPOLOGY, prefix)
    name = f"{prefix}.{queue}"
    async with support.scratch_topology(amqp, topology):
        changed = _with_queue_args(topology, name, **{argument: value})
        with pytest.raises(TopologyError, match=rf"queue {name}\b"):
            await declare_topology(amqp, changed)
        # The failure closed only declare_topology's own channel: the connection still works.
        await declare_topology(amqp, topology)


async def test_changed_exchange_kind_raises_topology_error_naming_the_exchange(
        amqp: AbstractRobustConnection, prefix: str) -> None:
    topology = support.renamed(TOPOLOGY, prefix)
    events = f"{prefix}.{EVENTS}"
    async with support.scratch_topology(amqp, topology):
        changed = Topology(
            [dataclasses.replace(e, kind=aio_pika.ExchangeType.DIRECT) if e.name == events
             else e for e in topology.exchanges], topology.queues)
        with pytest.raises(TopologyError, match=rf"exchange {events}\b"):
            await declare_topology(amqp, changed)
        await declare_topology(amqp, topology)
