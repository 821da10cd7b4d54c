"""Idempotent consumers: record a message id in the same transaction as the effects it causes.

    async with pool.acquire() as conn, conn.transaction():
        if await claim(conn, "campaigns.status", message.message_id):
            ...apply effects with conn...
    await message.ack()

A redelivery (broker restart, relay re-publish, consumer crash before ack) finds the id already
claimed and changes nothing.
"""

from __future__ import annotations

import asyncpg


async def claim(conn: asyncpg.Connection, consumer: str, message_id: str) -> bool:
    """True the first time (consumer, message_id) is seen in a committed transaction."""
    if not message_id:
        raise ValueError("message_id is required for deduplication")
    inserted = await conn.fetchval(
        "INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING true", consumer, message_id)
    return bool(inserted)
