"""Shared helpers and fixtures for the kit's AMQP / outbox / inbox integration tests.

Everything here talks to the real RabbitMQ and PostgreSQL. Test modules import the fixtures
by assignment (`service_db = support.service_db`), since this folder has no conftest.py of ours.

- Broker objects are scratch copies with unique names (`scratch_topology`), deleted at the end;
  only tests about the real topology declare it.
- Each database test gets its own schema in the session's test database, provisioned and
  migrated like a service's (kit migrations: outbox, processed_messages; then ours:
  `amqp_effects`), used through a fixed login role (roles are cluster-wide; provisioning is
  idempotent) with the schema on its `search_path`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from tucano_kit.amqp import connect
from tucano_kit.amqp.consumer import consume
from tucano_kit.amqp.inbox import claim
from tucano_kit.amqp.outbox import OutboxMessage, enqueue
from tucano_kit.amqp.publisher import Publisher
from tucano_kit.amqp.topology import Exchange, Queue, Topology, declare_topology
from tucano_kit.postgres import create_pool
from tucano_kit.testing import migrated_service_dsn

ROLE = "tucano_kit_amqp_test"
MIGRATIONS = Path(__file__).parent / "amqp_migrations"
_serial = itertools.count()


# ---------------------------------------------------------------------------- waiting


async def eventually(check: Callable[[], Awaitable[bool] | bool], *, within: float, what: str,
                     interval: float = 0.05, tasks: Iterable[asyncio.Task[Any]] = ()) -> None:
    """Poll `check` until it is true; fail after `within` s, or as soon as a task died."""
    deadline = time.monotonic() + within
    while True:
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError(f"background task died while waiting for {what}"
                                     ) from task.exception()
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def background(coro: Coroutine[Any, Any, Any]) -> AsyncIterator[asyncio.Task[Any]]:
    """Run `coro` as a task for the block; cancel it after, re-raising what it died of."""
    task = asyncio.create_task(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---------------------------------------------------------------------------- broker


@pytest.fixture
def prefix(unique: str) -> str:
    """A name prefix of our own for this test's exchanges and queues."""
    return f"test.kit.{unique}.{next(_serial)}"


@pytest.fixture(scope="session")
async def amqp(amqp_url: str, unique: str) -> AsyncIterator[AbstractRobustConnection]:
    """One robust connection for the tests that do not break theirs."""
    connection = await connect(amqp_url, name=f"kit-amqp-tests-{unique}")
    yield connection
    await connection.close()


@pytest.fixture
async def publisher(amqp: AbstractRobustConnection) -> AsyncIterator[Publisher]:
    pub = await Publisher.open(amqp, timeout_s=10.0)
    yield pub
    await pub.close()


def renamed(topology: Topology, prefix: str) -> Topology:
    """A copy of `topology` with every exchange, queue and routing key prefixed (DLX and
    dead-letter routing-key arguments too), so it can be declared next to the real one."""
    names = {e.name for e in topology.exchanges} | {q.name for q in topology.queues}

    def rename(name: str) -> str:
        return f"{prefix}.{name}" if name in names else name

    def args(arguments: dict[str, Any]) -> dict[str, Any]:
        out = dict(arguments)
        for key in ("x-dead-letter-exchange", "x-dead-letter-routing-key"):
            if key in out:
                out[key] = rename(out[key])
        return out

    return Topology(
        exchanges=[dataclasses.replace(e, name=rename(e.name)) for e in topology.exchanges],
        queues=[Queue(rename(q.name), rename(q.exchange), rename(q.routing_key),
                      args(q.arguments)) for q in topology.queues])


def work_topology(prefix: str, *, routing_keys: Iterable[str] = ("k",),
                  quorum: bool = True) -> Topology:
    """`<prefix>.x` (direct) → queue `<prefix>.q` bound with each of `routing_keys`: quorum
    (as in production), or a durable classic one where only throughput matters to the test."""
    queue_args: dict[str, Any] = ({"x-queue-type": "quorum", "x-delivery-limit": 5} if quorum
                                  else {"x-queue-type": "classic"})
    return Topology(
        exchanges=[Exchange(f"{prefix}.x", aio_pika.ExchangeType.DIRECT)],
        queues=[Queue(f"{prefix}.q", f"{prefix}.x", key, queue_args) for key in routing_keys])


async def delete_topology(connection: AbstractRobustConnection, topology: Topology) -> None:
    channel = await connection.channel()
    try:
        for name in dict.fromkeys(q.name for q in topology.queues):
            await channel.queue_delete(name)
        for exchange in topology.exchanges:
            await channel.exchange_delete(exchange.name)
    finally:
        await channel.close()


@contextlib.asynccontextmanager
async def scratch_topology(connection: AbstractRobustConnection, topology: Topology
                           ) -> AsyncIterator[Topology]:
    """Declare a test-only topology with the kit's machinery; delete it afterwards."""
    try:
        await declare_topology(connection, topology)
        yield topology
    finally:
        await delete_topology(connection, topology)


async def queue_depth(connection: AbstractRobustConnection, queue: str) -> int:
    """Ready messages in `queue` (passive declare)."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        assert declared.declaration_result.message_count is not None
        return declared.declaration_result.message_count
    finally:
        await channel.close()


@dataclass
class Received:
    at: float
    message_id: str | None
    body: bytes
    headers: dict[str, Any]
    redelivered: bool


class Collector:
    """A plain aio-pika consumer (not the kit's) that records and acks what arrives."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def start(self, connection: AbstractRobustConnection, queue: str) -> Collector:
        self._channel = await connection.channel()
        await self._channel.set_qos(prefetch_count=200)
        q = await self._channel.get_queue(queue, ensure=True)
        await q.consume(self._on_message)
        return self

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.messages.append(Received(time.monotonic(), message.message_id, message.body,
                                      dict(message.headers or {}), bool(message.redelivered)))
        await message.ack()

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()


@contextlib.asynccontextmanager
async def collecting(connection: AbstractRobustConnection, queue: str
                     ) -> AsyncIterator[Collector]:
    collector = await Collector().start(connection, queue)
    try:
        yield collector
    finally:
        await collector.close()


async def rabbitmqctl(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, "-q", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    if proc.returncode != 0:
        raise AssertionError(f"rabbitmqctl {' '.join(args)} failed: {err.decode()}")
    return out.decode()


async def rabbitmqctl_json(*args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(await rabbitmqctl(*args, "--formatter", "json"))
    return rows


def table(entries: list[list[Any]]) -> dict[str, Any]:
    """rabbitmqctl's JSON rendering of an AMQP table ([[key, type, value], ...]) as a dict."""
    return {key: value for key, _type, value in entries}


# ---------------------------------------------------------------------------- database


@dataclass
class ServiceDb:
    schema: str
    dsn: str
    pool: asyncpg.Pool

    async def scalar(self, sql: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def pending(self) -> int:
        return int(await self.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL"))

    async def published_ids(self) -> set[str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT id FROM outbox WHERE published_at IS NOT NULL")
        return {str(r["id"]) for r in rows}

    async def effects(self, consumer: str) -> Counter[str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT message_id FROM amqp_effects WHERE consumer = $1", consumer)
        return Counter(r["message_id"] for r in rows)


async def new_service_db(admin_url: str, database: str, schema: str) -> ServiceDb:
    dsn = await migrated_service_dsn(admin_url, database, schema, ROLE, MIGRATIONS)
    dsn = f"{dsn}?search_path={schema}"
    pool = await create_pool(dsn, application_name="kit-amqp-tests", min_size=1, max_size=6)
    return ServiceDb(schema, dsn, pool)


@pytest.fixture
async def service_db(admin_url: str, test_database: str, unique: str
                     ) -> AsyncIterator[ServiceDb]:
    """A fresh, migrated service schema (outbox, processed_messages, amqp_effects)."""
    db = await new_service_db(admin_url, test_database, f"amqp_{unique}_{next(_serial)}")
    yield db
    await db.pool.close()


class DedupeConsumer:
    """A kit `consume()` handler that applies each message once: `inbox.claim` and the effect
    (a row in `amqp_effects`) commit in one transaction. Counts every delivery it sees."""

    def __init__(self, pool: asyncpg.Pool, name: str, *,
                 hold: asyncio.Event | None = None) -> None:
        self.pool = pool
        self.name = name
        self.deliveries: Counter[str] = Counter()
        self.redeliveries = 0
        self.applied = 0
        self.completed = 0  # handler runs finished (effects committed or found done)
        self.in_handler = 0
        self._hold = hold

    @property
    def total(self) -> int:
        return sum(self.deliveries.values())

    async def handle(self, message: AbstractIncomingMessage) -> None:
        assert message.message_id
        self.deliveries[message.message_id] += 1
        self.redeliveries += bool(message.redelivered)
        async with self.pool.acquire() as conn, conn.transaction():
            if await claim(conn, self.name, message.message_id):
                await conn.execute(
                    "INSERT INTO amqp_effects (consumer, message_id) VALUES ($1, $2)",
                    self.name, message.message_id)
                self.applied += 1
        self.completed += 1
        if self._hold is not None:  # effects committed, ack not yet sent
            self.in_handler += 1
            try:
                await self._hold.wait()
            finally:
                self.in_handler -= 1

    def run(self, connection: AbstractRobustConnection, queue: str, *,
            prefetch: int = 100) -> Coroutine[Any, Any, None]:
        return consume(connection, queue, self.handle, prefetch=prefetch)


# ---------------------------------------------------------------------------- outbox


class RelayCrashed(Exception):
    """Stands for the relay process dying (not a PublishError, so nothing marks the rows)."""


class RecordingPublisher(Publisher):
    """The real publisher, recording every confirmed message id. With `crash_after = k` it
    'dies' right after the k-th confirmed publish: that publish reached the broker but the
    relay's transaction never marks it, and every later call fails the same way."""

    published: list[str]
    crash_after: int | None
    in_flight: int

    @classmethod
    async def open_recording(cls, connection: AbstractRobustConnection, *,
                             crash_after: int | None = None) -> RecordingPublisher:
        publisher = await cls.open(connection)
        assert isinstance(publisher, RecordingPublisher)
        publisher.published = []
        publisher.crash_after = crash_after
        publisher.in_flight = 0
        return publisher

    async def publish(self, **kwargs: Any) -> None:
        if self.crash_after is not None and len(self.published) >= self.crash_after:
            raise RelayCrashed("the relay is dead")
        self.in_flight += 1
        try:
            await super().publish(**kwargs)
        finally:
            self.in_flight -= 1
        self.published.append(kwargs["message_id"])
        if self.crash_after is not None and len(self.published) >= self.crash_after:
            raise RelayCrashed("killed between the publish and the mark")


def outbox_messages(exchange: str, keys: Iterable[str], per_key: int, *,
                    mandatory: bool = True) -> list[OutboxMessage]:
    """`per_key` messages for each key, interleaved; bodies are `key:n` (n counts per key)."""
    keys = list(keys)
    return [OutboxMessage(exchange=exchange, routing_key=key, message_type="test",
                          body=f"{key}:{n}".encode(), mandatory=mandatory)
            for n in range(per_key) for key in keys]


async def enqueue_all(db: ServiceDb, messages: list[OutboxMessage]) -> None:
    async with db.pool.acquire() as conn, conn.transaction():
        await enqueue(conn, *messages)
