"""Raw webhook deliveries in PostgreSQL, deduplicated by the SHA-256 of their bytes.

A new delivery and its `whatsapp.webhook.received` event commit together (transactional
outbox), so once Meta has its 200 the delivery is durable and will be announced."""

from __future__ import annotations

import hashlib
import json
import uuid

import asyncpg
from tucano_kit.amqp.outbox import OutboxMessage, enqueue
from tucano_kit.amqp.topology import EVENTS

RECEIVED_EVENT = "whatsapp.webhook.received"


class PostgresWebhookStore:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def store(self, body: bytes, signature: str, object_type: str
                    ) -> tuple[uuid.UUID, bool]:
        digest = hashlib.sha256(body).digest()
        async with self._pool.acquire() as conn, conn.transaction():
            new_id = await conn.fetchval(
                "INSERT INTO received_webhooks (id, body_sha256, body, signature, object)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (body_sha256) DO NOTHING RETURNING id",
                uuid.uuid4(), digest, body, signature, object_type)
            if new_id is not None:
                await enqueue(conn, OutboxMessage(
                    exchange=EVENTS, routing_key=RECEIVED_EVENT, message_type=RECEIVED_EVENT,
                    content_type="application/json", mandatory=False,
                    body=json.dumps({"webhook_id": str(new_id), "object": object_type}).encode()))
                return new_id, False
            existing = await conn.fetchval(
                "SELECT id FROM received_webhooks WHERE body_sha256 = $1", digest)
        return existing, True
