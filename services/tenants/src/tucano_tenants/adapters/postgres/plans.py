"""The plan catalogue in PostgreSQL (global, not tenant-scoped)."""

from __future__ import annotations

import asyncpg

from tucano_tenants.domain.plans import Plan


class PostgresPlanCatalogue:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def list(self) -> list[Plan]:
        rows = await self._pool.fetch(
            "SELECT id, display_name, api_requests_per_second, api_requests_per_minute,"
            " monthly_message_quota, max_contacts FROM plans ORDER BY position, id")
        return [Plan(**dict(r)) for r in rows]
