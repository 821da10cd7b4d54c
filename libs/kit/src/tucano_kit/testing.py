"""Pytest plugin with fixtures for tests against the real PostgreSQL, RabbitMQ and Redis.

Registered in the repository's root conftest.py. Each test session gets its own database
(`tucano_test_<random>`), provisioned and migrated like production, and dropped at the end;
login roles are cluster-wide and shared with the local stack (provisioning is idempotent).

Environment: TUCANO_TEST_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
TUCANO_AMQP_URL, TUCANO_REDIS_URL (the services' own defaults).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tucano_kit.postgres.migrations import migrate, service_migrations
from tucano_kit.postgres.provision import SchemaSpec, dsn_for_database, provision

ADMIN_URL = os.environ.get("TUCANO_TEST_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TUCANO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("TUCANO_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def admin_url() -> str:
    return ADMIN_URL


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return AMQP_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture(scope="session")
async def test_database(admin_url: str) -> AsyncIterator[str]:
    """The name of a fresh database for this test session."""
    name = f"tucano_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield name
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def admin_dsn(admin_url: str, test_database: str) -> str:
    """Admin DSN pointing at the session's database."""
    return dsn_for_database(admin_url, test_database)


async def migrated_service_dsn(admin_url: str, database: str, schema: str, role: str,
                               migrations: Path) -> str:
    """Provision and migrate one service schema in `database`; returns the service's DSN."""
    dsn = dsn_for_database(f"postgresql://{role}@127.0.0.1:5432/", database)
    spec = SchemaSpec.from_dsn(schema, dsn)
    await provision(admin_url, spec)
    await migrate(admin_url, spec, service_migrations(migrations))
    return dsn


@pytest.fixture(scope="session")
def unique() -> Iterator[str]:
    """A short random string, to keep names of queues, keys etc. apart between runs."""
    yield secrets.token_hex(4)
