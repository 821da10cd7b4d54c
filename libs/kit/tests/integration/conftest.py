"""Fixtures for the kit's integration tests: a service schema `kittest` with an RLS table."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest
from tucano_kit.postgres.pool import create_pool
from tucano_kit.testing import migrated_service_dsn

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA, ROLE = "kittest", "tucano_kittest"

Seed = Callable[[uuid.UUID, int], Awaitable[list[uuid.UUID]]]
DsnAs = Callable[[str], str]


@pytest.fixture(scope="session")
async def kittest_dsn(admin_url: str, test_database: str) -> str:
    """DSN of the `kittest` service role, its schema provisioned and migrated."""
    return await migrated_service_dsn(admin_url, test_database, SCHEMA, ROLE, MIGRATIONS)


@pytest.fixture(scope="session")
def dsn_as(admin_dsn: str) -> DsnAs:
    """The session database's DSN logging in as another role."""
    parts = urlsplit(admin_dsn)
    host = parts.netloc.rpartition("@")[2]
    return lambda role: urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}@{host}"))


@pytest.fixture(scope="session")
async def admin_pool(admin_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A superuser pool on the session database (bypasses RLS: for seeding and checking)."""
    pool = await create_pool(admin_dsn, application_name="kittest-admin", max_size=2)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def kittest_pool(kittest_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(kittest_dsn, application_name="kittest", min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def seed(admin_pool: asyncpg.Pool, kittest_dsn: str) -> Seed:
    """Insert `n` notes for a tenant as the admin; returns their ids."""

    async def insert(tenant: uuid.UUID, n: int) -> list[uuid.UUID]:
        ids = [uuid.uuid4() for _ in range(n)]
        await admin_pool.executemany(
            f"INSERT INTO {SCHEMA}.notes (id, tenant_id, body) VALUES ($1, $2, $3)",
            [(i, tenant, f"note {k} of {tenant}") for k, i in enumerate(ids)])
        return ids

    return insert


@pytest.fixture
async def throwaway_role(admin_pool: asyncpg.Pool) -> AsyncIterator[str]:
    """A fresh login role, dropped (with whatever it owns here) after the test."""
    name = f"kittest_tmp_{secrets.token_hex(4)}"
    await admin_pool.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    async with admin_pool.acquire() as conn:
        await conn.execute(f'DROP OWNED BY "{name}"')
        await conn.execute(f'DROP ROLE "{name}"')
