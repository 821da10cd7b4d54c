"""Raw webhook deliveries in PostgreSQL, deduplicated by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg


class PostgresWebhookStore:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def store(self, body: bytes, signature: str, object_type: str
                    ) -> tuple[uuid.UUID, bool]:
        digest = hashlib.sha256(body).digest()
        async with self._pool.acquire() as conn:
            new_id = await conn.fetchval(
                "INSERT INTO received_webhooks (id, body_sha256, body, signature, object)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (body_sha256) DO NOTHING RETURNING id",
                uuid.uuid4(), digest, body, signature, object_type)
            if new_id is not None:
                return new_id, False
            existing = await conn.fetchval(
                "SELECT id FROM received_webhooks WHERE body_sha256 = $1", digest)
        return existing, True
