"""The transactional outbox relay against the real PostgreSQL and RabbitMQ (reliability.md B2,
R3): at-least-once delivery across a crash between publish and mark, deduplicated by the inbox;
NOTIFY wake-up; backoff of failed rows; per-routing-key order; SKIP LOCKED between relays."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from aio_pika.abc import AbstractRobustConnection
from tucano_kit.amqp import connect
from tucano_kit.amqp.outbox import OutboxRelay
from tucano_kit.postgres import create_pool

from . import amqp_support as support
from .amqp_support import RecordingPublisher, RelayCrashed, ServiceDb

amqp = support.amqp
prefix = support.prefix
service_db = support.service_db

pytestmark = pytest.mark.integration

KEYS = ("a", "b", "c")


async def test_a_relay_crash_between_publish_and_mark_loses_nothing_and_applies_once(
        amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb) -> None:
    """R3 (the Must-show, in process): the first relay dies right after the broker confirmed its
    25th message, inside a batch, so that batch's published rows stay pending; a fresh relay
    publishes the rest and those again. The dedupe consumer applies every message once."""
    messages = support.outbox_messages(f"{prefix}.x", KEYS, 20)  # 60 rows
    await support.enqueue_all(service_db, messages)
    topology = support.work_topology(prefix, routing_keys=KEYS)
    consumer = support.DedupeConsumer(service_db.pool, "r3")
    async with support.scratch_topology(amqp, topology):
        crashing = await RecordingPublisher.open_recording(amqp, crash_after=25)
        first = OutboxRelay(service_db.pool, crashing, schema=service_db.schema, batch_size=20,
                            poll_interval_s=0.2)
        with pytest.raises(RelayCrashed):
            await asyncio.wait_for(first.run(), 30)
        # Publishes of other keys' groups that were already under way finish (confirmed or
        # not); nothing publishes after that.
        await support.eventually(lambda: crashing.in_flight == 0, within=10,
                                 what="in-flight publishes of the crashed batch")
        await crashing.close()
        # Batch 1 (20 rows) was marked; of batch 2 some rows reached the broker unmarked.
        marked = await service_db.published_ids()
        assert len(marked) == 20
        unmarked_but_sent = set(crashing.published) - marked
        assert unmarked_but_sent, "the crash must leave published rows unmarked"
        assert await service_db.pending() == 40

        second_publisher = await RecordingPublisher.open_recording(amqp)
        second = OutboxRelay(service_db.pool, second_publisher, schema=service_db.schema,
                             batch_size=20, poll_interval_s=0.2)
        async with (support.background(second.run()) as relay,
                    support.background(consumer.run(amqp, f"{prefix}.q")) as consuming):
            await support.eventually(lambda: _drained(service_db), within=30,
                                     tasks=[relay], what="the outbox to drain")
            await support.eventually(
                lambda: _all_seen(consumer, len(messages), crashing, second_publisher),
                within=30, tasks=[relay, consuming],
                what="every message published and consumed")
        await second_publisher.close()

    sent = len(crashing.published) + len(second_publisher.published)
    ids = {str(m.id) for m in messages}
    assert set(crashing.published) | set(second_publisher.published) == ids  # none lost
    assert set(second_publisher.published) >= unmarked_but_sent  # republished
    duplicates = sent - len(ids)
    assert duplicates == len(unmarked_but_sent) > 0  # the broker saw duplicates ...
    assert consumer.total == sent
    assert consumer.applied == len(ids)
    assert await service_db.effects("r3") == Counter(ids)  # ... applied once each


def _all_seen(consumer: support.DedupeConsumer, rows: int, *publishers: RecordingPublisher
              ) -> bool:
    sent = sum(len(p.published) for p in publishers)
    return (len({m for p in publishers for m in p.published}) == rows
            and consumer.completed == sent)


async def _listening(db: ServiceDb) -> bool:
    return bool(await db.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state = 'idle' AND query = $1", f'LISTEN "outbox_{db.schema}"'))


async def test_notify_wakes_an_idle_relay(amqp: AbstractRobustConnection, prefix: str,
                                          service_db: ServiceDb) -> None:
    topology = support.work_topology(prefix)
    async with support.scratch_topology(amqp, topology):
        publisher = await RecordingPublisher.open_recording(amqp)
        relay = OutboxRelay(service_db.pool, publisher, schema=service_db.schema,
                            poll_interval_s=30.0)
        async with (support.background(relay.run()) as task,
                    support.collecting(amqp, f"{prefix}.q") as arrived):
            await support.eventually(lambda: _listening(service_db), within=10, tasks=[task],
                                     what="the relay to LISTEN")
            await asyncio.sleep(0.5)  # past its first (empty) batch: now waiting up to 30 s
            [message] = support.outbox_messages(f"{prefix}.x", ["k"], 1)
            started = time.monotonic()
            await support.enqueue_all(service_db, [message])
            await support.eventually(lambda: len(arrived.messages) == 1, within=10,
                                     tasks=[task], what="the row to be relayed")
            elapsed = time.monotonic() - started
        await publisher.close()
    assert arrived.messages[0].message_id == str(message.id)
    assert elapsed < 5.0, f"took {elapsed:.1f} s: NOTIFY did not wake the relay"


async def test_unroutable_rows_back_off_without_blocking_other_keys(
        amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb) -> None:
    topology = support.work_topology(prefix, routing_keys=["good"])
    messages = support.outbox_messages(f"{prefix}.x", ["good", "unbound"], 3)
    await support.enqueue_all(service_db, messages)
    async with (support.scratch_topology(amqp, topology),
                support.collecting(amqp, f"{prefix}.q") as arrived):
        publisher = await RecordingPublisher.open_recording(amqp)
        relay = OutboxRelay(service_db.pool, publisher, schema=service_db.schema,
                            max_backoff_s=60.0)
        assert await relay.publish_batch() == 6
        await support.eventually(lambda: len(arrived.messages) == 3, within=10,
                                 what="the routable rows")
        assert [m.body for m in arrived.messages] == [b"good:0", b"good:1", b"good:2"]

        async with service_db.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT routing_key, attempts, published_at, last_error,"
                " extract(epoch FROM next_attempt_at - now()) AS wait FROM outbox"
                " ORDER BY seq")
        for row in rows:
            assert row["attempts"] == 1
            if row["routing_key"] == "good":
                assert row["published_at"] is not None
            else:
                assert row["published_at"] is None
                assert "NO_ROUTE" in row["last_error"]
                assert 0.0 < row["wait"] <= 1.0  # first backoff: 1 s
        assert await relay.publish_batch() == 0  # not due yet: nothing is retried at once

        # Route the key; after the backoff the rows go out, in order, once.
        channel = await amqp.channel()
        await (await channel.get_queue(f"{prefix}.q")).bind(f"{prefix}.x", "unbound")
        await channel.close()
        await support.eventually(_relayed(relay), within=10, interval=0.2,
                                 what="the backed-off rows to become due")
        await support.eventually(lambda: len(arrived.messages) == 6, within=10,
                                 what="the backed-off rows to arrive")
        await publisher.close()
    assert [m.body for m in arrived.messages[3:]] == [b"unbound:0", b"unbound:1", b"unbound:2"]
    assert await service_db.pending() == 0
    assert len(publisher.published) == 6


def _relayed(relay: OutboxRelay) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await relay.publish_batch() > 0
    return check


async def test_a_row_that_failed_for_days_still_backs_off(
        amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb) -> None:
    """attempts keeps growing while a row fails: 2 ** attempts must not overflow the relay."""
    topology = support.work_topology(prefix, routing_keys=["good"])
    messages = support.outbox_messages(f"{prefix}.x", ["unbound", "good"], 1)
    await support.enqueue_all(service_db, messages)
    await service_db.scalar("UPDATE outbox SET attempts = 5000 WHERE routing_key = 'unbound'")
    async with support.scratch_topology(amqp, topology):
        publisher = await RecordingPublisher.open_recording(amqp)
        relay = OutboxRelay(service_db.pool, publisher, schema=service_db.schema,
                            max_backoff_s=120.0)
        assert await relay.publish_batch() == 2
        await publisher.close()
    assert publisher.published == [str(messages[1].id)]
    wait = await service_db.scalar(
        "SELECT extract(epoch FROM next_attempt_at - now()) FROM outbox"
        " WHERE routing_key = 'unbound'")
    assert 100 < wait <= 120


@pytest.mark.parametrize("batch_size", [500, 7])
async def test_rows_of_one_routing_key_are_published_in_order(
        amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb,
        batch_size: int) -> None:
    per_key = 40
    messages = support.outbox_messages(f"{prefix}.x", KEYS, per_key)
    await support.enqueue_all(service_db, messages)
    topology = support.work_topology(prefix, routing_keys=KEYS)
    async with (support.scratch_topology(amqp, topology),
                support.collecting(amqp, f"{prefix}.q") as arrived):
        publisher = await RecordingPublisher.open_recording(amqp)
        relay = OutboxRelay(service_db.pool, publisher, schema=service_db.schema,
                            batch_size=batch_size)
        while await relay.publish_batch():
            pass
        await publisher.close()
        await support.eventually(lambda: len(arrived.messages) == len(messages), within=20,
                                 what="every row")
    by_key: dict[str, list[int]] = {key: [] for key in KEYS}
    for message in arrived.messages:
        key, n = message.body.decode().split(":")
        by_key[key].append(int(n))
    assert by_key == {key: list(range(per_key)) for key in KEYS}
    if batch_size >= len(messages):  # one batch: keys went out concurrently, interleaved
        assert [m.body.decode()[0] for m in arrived.messages[:per_key]] != ["a"] * per_key


async def test_a_backing_off_row_holds_back_later_rows_of_its_key(
        amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb) -> None:
    """Order within a key also holds across retries: a row enqueued after one that is backing
    off must not overtake it once the key becomes routable."""
    [early] = support.outbox_messages(f"{prefix}.x", ["k"], 1)
    await support.enqueue_all(service_db, [early])
    topology = support.work_topology(prefix, routing_keys=["other"])
    async with (support.scratch_topology(amqp, topology),
                support.collecting(amqp, f"{prefix}.q") as arrived):
        publisher = await RecordingPublisher.open_recording(amqp)
        relay = OutboxRelay(service_db.pool, publisher, schema=service_db.schema)
        assert await relay.publish_batch() == 1  # unroutable: backs off
        # It has failed a few times already: its next attempt is 2 s away.
        await service_db.scalar(
            "UPDATE outbox SET attempts = 3, next_attempt_at = now() + interval '2 s'")
        channel = await amqp.channel()
        await (await channel.get_queue(f"{prefix}.q")).bind(f"{prefix}.x", "k")
        await channel.close()
        late = support.outbox_messages(f"{prefix}.x", ["k"], 1)
        await support.enqueue_all(service_db, late)
        await relay.publish_batch()
        await support.eventually(_relayed(relay), within=10, interval=0.2,
                                 what="the early row to be retried")
        while await relay.publish_batch():
            pass
        await support.eventually(lambda: len(arrived.messages) == 2, within=10,
                                 what="both rows")
        await publisher.close()
    assert [m.message_id for m in arrived.messages] == [str(early.id), str(late[0].id)]


async def test_two_relays_share_the_work_without_publishing_a_row_twice(
        amqp_url: str, amqp: AbstractRobustConnection, prefix: str,
        service_db: ServiceDb) -> None:
    messages = support.outbox_messages(f"{prefix}.x", KEYS, 400)  # 1,200 rows
    await support.enqueue_all(service_db, messages)
    topology = support.work_topology(prefix, routing_keys=KEYS)
    # Like two processes: each relay has its own pool and AMQP connection.
    other_pool_db = await create_pool(service_db.dsn, application_name="relay2", max_size=3)
    other_amqp = await connect(amqp_url, name=f"{prefix}.relay2")
    try:
        async with support.scratch_topology(amqp, topology):
            publishers = [await RecordingPublisher.open_recording(amqp),
                          await RecordingPublisher.open_recording(other_amqp)]
            relays = [OutboxRelay(pool, pub, schema=service_db.schema, batch_size=50)
                      for pool, pub in zip((service_db.pool, other_pool_db), publishers,
                                           strict=True)]
            async with (support.background(relays[0].run()) as one,
                        support.background(relays[1].run()) as two):
                await support.eventually(lambda: _drained(service_db), within=30,
                                         tasks=[one, two], what="the outbox to drain")
            for publisher in publishers:
                await publisher.close()
            depth = await support.queue_depth(amqp, f"{prefix}.q")
    finally:
        await other_amqp.close()
        await other_pool_db.close()
    published = Counter(m for p in publishers for m in p.published)
    assert set(published) == {str(m.id) for m in messages}
    assert published.most_common(1)[0][1] == 1, "a row was published twice"
    assert all(p.published for p in publishers), "both relays should have taken batches"
    assert depth == len(messages)


async def _drained(db: ServiceDb) -> bool:
    return await db.pending() == 0


async def test_purge_deletes_only_published_rows_past_retention(
        amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb) -> None:
    messages = support.outbox_messages(f"{prefix}.x", ["k"], 3)
    await support.enqueue_all(service_db, messages)
    await service_db.scalar(
        "UPDATE outbox SET published_at = now() - interval '2 hours' WHERE id = $1",
        messages[0].id)
    await service_db.scalar(
        "UPDATE outbox SET published_at = now() - interval '10 minutes' WHERE id = $1",
        messages[1].id)
    publisher = await RecordingPublisher.open_recording(amqp)
    relay = OutboxRelay(service_db.pool, publisher, schema=service_db.schema,
                        retention_s=3600.0)
    try:
        assert await relay.purge() == 1
    finally:
        await publisher.close()
    remaining = await service_db.published_ids()
    assert remaining == {str(messages[1].id)}
    assert await service_db.pending() == 1
