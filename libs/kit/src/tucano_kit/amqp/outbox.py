"""Transactional outbox and its relay.

Write side: `enqueue(conn, OutboxMessage(...))` inside the same transaction as the business
change. Relay side: `OutboxRelay.run()` wakes on NOTIFY (or every `poll_interval_s`), locks a
batch of pending rows with `FOR UPDATE SKIP LOCKED` (several relays share the work), publishes
them with confirms, and marks them published in the same transaction. A crash between the
publish and the commit leaves the rows pending, so they are published again: delivery is
at-least-once and consumers deduplicate by message id (`inbox.claim`). Rows that fail to
publish are retried with exponential backoff; published rows are purged after a retention time.
Within one routing key, rows are published in commit order; different keys go concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tucano_kit.amqp.publisher import Publisher, PublishError

log = logging.getLogger("tucano.outbox")


@dataclass(frozen=True)
class OutboxMessage:
    exchange: str
    routing_key: str
    message_type: str
    body: bytes
    headers: Mapping[str, Any] = field(default_factory=dict)
    content_type: str = "application/x-protobuf"
    mandatory: bool = True
    id: uuid.UUID = field(default_factory=uuid.uuid4)


async def enqueue(conn: asyncpg.Connection, *messages: OutboxMessage) -> None:
    """Add messages to the outbox in the caller's transaction."""
    await conn.executemany(
        "INSERT INTO outbox (id, exchange, routing_key, message_type, content_type, headers,"
        " body, mandatory) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(m.id, m.exchange, m.routing_key, m.message_type, m.content_type, dict(m.headers),
          m.body, m.mandatory) for m in messages])


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, publisher: Publisher, *, schema: str,
                 batch_size: int = 200, poll_interval_s: float = 1.0,
                 retention_s: float = 86_400.0, max_backoff_s: float = 300.0):
        self._pool = pool
        self._publisher = publisher
        self._channel = f"outbox_{schema}"
        self._batch = batch_size
        self._poll = poll_interval_s
        self._retention = retention_s
        self._max_backoff = max_backoff_s
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish one batch of due rows; returns how many rows were handled."""
        async with self._pool.acquire() as conn, conn.transaction():
            # A due row waits while an earlier row of its key backs off, keeping key order.
            rows = await conn.fetch(
                "SELECT id, exchange, routing_key, message_type, content_type, headers, body,"
                " mandatory, attempts FROM outbox o WHERE published_at IS NULL"
                " AND next_attempt_at <= now() AND NOT EXISTS (SELECT 1 FROM outbox w"
                "  WHERE w.published_at IS NULL AND w.next_attempt_at > now()"
                "  AND w.seq < o.seq AND w.routing_key = o.routing_key"
                "  AND w.exchange = o.exchange)"
                " ORDER BY seq LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
                self._batch)
            if not rows:
                return 0
            by_key: dict[tuple[str, str], list[asyncpg.Record]] = defaultdict(list)
            for row in rows:
                by_key[(row["exchange"], row["routing_key"])].append(row)
            outcomes = await asyncio.gather(*(self._publish_in_order(g) for g in by_key.values()))
            done = [rid for ok, _ in outcomes for rid in ok]
            failed = [f for _, fails in outcomes for f in fails]
            await conn.execute(
                "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                " WHERE id = ANY($1::uuid[])", done)
            for row_id, attempts, error in failed:
                backoff = min(2.0 ** min(attempts, 30), self._max_backoff)  # no overflow
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2,"
                    " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                    row_id, error[:500], backoff)
            if failed:
                log.warning("outbox publish failed", extra={"failed": len(failed),
                                                              "error": failed[0][2][:200]})
            return len(rows)

    async def _publish_in_order(self, rows: list[asyncpg.Record]
                                ) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, int, str]]]:
        ok: list[uuid.UUID] = []
        for index, row in enumerate(rows):
            try:
                await self._publisher.publish(
                    exchange=row["exchange"], routing_key=row["routing_key"],
                    body=row["body"], message_id=str(row["id"]),
                    message_type=row["message_type"], content_type=row["content_type"],
                    headers=row["headers"], mandatory=row["mandatory"])
            except PublishError as exc:
                # Later rows of the same key wait too, keeping their order.
                return ok, [(r["id"], r["attempts"], str(exc)) for r in rows[index:]]
            ok.append(row["id"])
        return ok, []

    async def purge(self) -> int:
        async with self._pool.acquire() as conn:
            result = await conn.execute(
                "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
                self._retention)
        return int(result.split()[-1])

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay forever (cancel to stop)."""
        listener = await self._pool.acquire()
        try:
            await listener.add_listener(self._channel, self._notified)
            rounds = 0
            while True:
                self._wake.clear()
                handled = await self.publish_batch()
                rounds += 1
                if rounds % 1000 == 0:
                    await self.purge()
                if handled < self._batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(self._channel, self._notified)
            await self._pool.release(listener)
