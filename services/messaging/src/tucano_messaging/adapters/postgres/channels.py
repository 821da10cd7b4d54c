"""Channels in PostgreSQL, always inside a tenant transaction (row-level security)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from tucano_kit.postgres import tenant_transaction

from tucano_messaging.domain.channels import Channel

_COLUMNS = ("id, tenant_id, waba_id, phone_number_id, display_phone_number,"
            " messages_per_second, created_at")


class PostgresChannelRepository:
    def __init__(self, pool: asyncpg.Pool, tenant_id: uuid.UUID):
        self._pool, self._tenant = pool, tenant_id

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None
                   ) -> list[Channel]:
        async with tenant_transaction(self._pool, self._tenant, readonly=True) as conn:
            if after is None:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM channels ORDER BY created_at, id LIMIT $1", limit)
            else:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM channels WHERE (created_at, id) > ($2, $3)"
                    " ORDER BY created_at, id LIMIT $1",
                    limit, *after)
        return [Channel(**dict(r)) for r in rows]
