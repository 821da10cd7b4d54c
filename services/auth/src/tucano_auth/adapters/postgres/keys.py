"""Signing keys in PostgreSQL. Rotation is one transaction under an advisory lock, so two
auth replicas starting together create one first key, not two."""

from __future__ import annotations

from typing import Any

import asyncpg
from tucano_kit.errors import Unavailable

from tucano_auth.domain.keys import SigningKey

ROTATE_LOCK = 0x6B657973  # "keys"


class PostgresKeyRepository:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def list(self) -> list[SigningKey]:
        rows = await self._pool.fetch(
            "SELECT kid, public_jwk, created_at, retired_at FROM signing_keys"
            " ORDER BY created_at DESC")
        return [SigningKey(r["kid"], r["public_jwk"], r["created_at"], r["retired_at"])
                for r in rows]

    async def rotate(self, kid: str, public_jwk: dict[str, Any], sealed_private_key: bytes,
                     *, only_if_none_active: bool, publish_lead_s: float = 0.0) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", ROTATE_LOCK)
            active = await conn.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
            if active is not None and only_if_none_active:
                return False
            lead = 0.0 if active is None else publish_lead_s  # nobody caches a first key
            activates = await conn.fetchval(
                "SELECT clock_timestamp() + make_interval(secs => $1)", lead)
            await conn.execute("UPDATE signing_keys SET retired_at = $1"
                               " WHERE retired_at IS NULL", activates)
            await conn.execute(
                "INSERT INTO signing_keys (kid, public_jwk, sealed_private_key, activates_at)"
                " VALUES ($1, $2, $3, $4)", kid, public_jwk, sealed_private_key, activates)
            return True

    async def active_private_key(self) -> tuple[str, bytes]:
        """The newest key whose activation time has come (the previous one until then)."""
        row = await self._pool.fetchrow(
            "SELECT kid, sealed_private_key FROM signing_keys"
            " WHERE activates_at <= clock_timestamp() ORDER BY activates_at DESC LIMIT 1")
        if row is None:
            raise Unavailable("NO_SIGNING_KEY", "no active signing key")
        return row["kid"], row["sealed_private_key"]
