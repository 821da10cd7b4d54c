"""R8: retry delays are one TTL queue per tier, dead-lettering back to the work queue, so a short
delay never waits behind a longer one (no head-of-line blocking). The real tiers are 5 s to 1 h;
this uses a scaled-down copy of the real topology (same arguments, TTLs of 3 s and 1 s)."""

from __future__ import annotations

import dataclasses
import time

import pytest
from aio_pika.abc import AbstractRobustConnection
from tucano_kit.amqp import TOPOLOGY, Publisher
from tucano_kit.amqp.topology import DELAY, SEND_QUEUE, Topology, retry_queue

from . import amqp_support as support

amqp = support.amqp
prefix = support.prefix

pytestmark = pytest.mark.integration

LONG_MS, SHORT_MS = 3_000, 1_000


def scaled_tiers(prefix: str) -> Topology:
    """The real topology renamed, with only two tiers: '30s' at 3 s and '5s' at 1 s."""
    ttl = {retry_queue("30s"): LONG_MS, retry_queue("5s"): SHORT_MS}
    real_tiers = {q.name for q in TOPOLOGY.queues if "x-message-ttl" in q.arguments}
    kept = [dataclasses.replace(q, arguments={**q.arguments, "x-message-ttl": ttl[q.name]})
            if q.name in ttl else q
            for q in TOPOLOGY.queues if q.name not in real_tiers or q.name in ttl]
    return support.renamed(Topology(TOPOLOGY.exchanges, kept), prefix)


async def test_a_short_delay_does_not_wait_behind_a_long_one(
        amqp: AbstractRobustConnection, prefix: str) -> None:
    topology = scaled_tiers(prefix)
    work = f"{prefix}.{SEND_QUEUE}"
    async with (support.scratch_topology(amqp, topology),
                support.collecting(amqp, work) as arrived):
        publisher = await Publisher.open(amqp)
        try:
            sent = {}
            for tier, job in (("30s", "long"), ("5s", "short")):
                await publisher.publish(exchange=f"{prefix}.{DELAY}",
                                        routing_key=f"{prefix}.{retry_queue(tier)}",
                                        body=job.encode(), message_id=job, message_type="test")
                sent[job] = time.monotonic()
        finally:
            await publisher.close()

        await support.eventually(lambda: len(arrived.messages) >= 2, within=20,
                                 what="both delayed jobs back on the work queue")

    assert [m.message_id for m in arrived.messages] == ["short", "long"]
    short, long_ = arrived.messages
    # Behaviour about delay, so timing bounds, generous for a noisy 2-core machine.
    short_delay = short.at - sent["short"]
    long_delay = long_.at - sent["long"]
    assert 0.9 <= short_delay < 2.5, short_delay
    assert 2.9 <= long_delay < 8.0, long_delay
    for message, tier in ((short, "5s"), (long_, "30s")):
        death = message.headers["x-death"][0]
        assert death["reason"] == "expired"
        assert death["queue"] == f"{prefix}.{retry_queue(tier)}"
