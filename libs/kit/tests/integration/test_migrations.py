"""migrate: checksums, idempotence, atomic failures and concurrent runs on real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from tucano_kit.postgres.migrations import (
    Migration,
    MigrationError,
    migrate,
    pending,
    service_migrations,
)
from tucano_kit.postgres.provision import SchemaSpec, provision
from tucano_kit.testing import migrated_service_dsn

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "migrations"
ROLE = "tucano_kitmig"
Fresh = Callable[[str], Awaitable[SchemaSpec]]


@pytest.fixture
def fresh_schema(admin_url: str, test_database: str) -> Fresh:
    """Provision a new, empty schema (no migrations yet) owned by `tucano_kitmig_owner`."""

    async def make(schema: str) -> SchemaSpec:
        spec = SchemaSpec(schema=schema, login_role=ROLE, password=None, database=test_database)
        await provision(admin_url, spec)
        return spec

    return make


def files() -> list[Migration]:
    return service_migrations(MIGRATIONS)


async def recorded(admin_pool: asyncpg.Pool, schema: str) -> dict[str, str]:
    rows = await admin_pool.fetch(f'SELECT name, checksum FROM "{schema}".schema_migrations')
    return {r["name"]: r["checksum"] for r in rows}


async def test_the_first_run_applies_everything_in_order_and_the_second_nothing(
        admin_url: str, admin_pool: asyncpg.Pool, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_twice")

    first = await migrate(admin_url, spec, files())
    second = await migrate(admin_url, spec, files())

    assert first == [m.name for m in files()]
    assert second == []
    assert await recorded(admin_pool, "kitmig_twice") == {m.name: m.checksum for m in files()}


async def test_the_session_schema_is_already_up_to_date(
        admin_url: str, kittest_dsn: str) -> None:
    assert await migrate(admin_url, SchemaSpec.from_dsn("kittest", kittest_dsn), files()) == []
    assert await pending(kittest_dsn, "kittest", files()) == []


async def test_pending_lists_everything_before_the_first_migration(
        fresh_schema: Fresh, dsn_as: Callable[[str], str]) -> None:
    await fresh_schema("kitmig_unmigrated")

    assert await pending(dsn_as(ROLE), "kitmig_unmigrated", files()) == [
        m.name for m in files()]


async def test_an_edited_applied_migration_is_refused(
        admin_url: str, admin_pool: asyncpg.Pool, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_edited")
    await migrate(admin_url, spec, files())
    before = await recorded(admin_pool, "kitmig_edited")
    edited = [dataclasses.replace(m, sql=m.sql + "\n-- tweaked\n")
              if m.name == "0001_notes.sql" else m for m in files()]

    with pytest.raises(MigrationError, match=r"0001_notes\.sql changed.*checksum"):
        await migrate(admin_url, spec, [*edited, Migration("0002_more.sql", "CREATE TABLE t();")])

    assert await recorded(admin_pool, "kitmig_edited") == before


async def test_an_applied_migration_missing_from_the_code_is_refused(
        admin_url: str, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_missing")
    await migrate(admin_url, spec, files())

    with pytest.raises(MigrationError, match=r"0001_notes\.sql is missing"):
        await migrate(admin_url, spec, files()[:-1])


async def test_a_failing_migration_leaves_no_trace(
        admin_url: str, admin_pool: asyncpg.Pool, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_broken")
    await migrate(admin_url, spec, files())
    broken = Migration("0002_broken.sql",
                       "CREATE TABLE half_done (id int);\n"
                       "INSERT INTO half_done VALUES (1);\n"
                       "ALTER TABLE notes ADD COLUMN extra text;\n"
                       "SELECT 1 / 0;\n")

    with pytest.raises(MigrationError, match="division by zero"):
        await migrate(admin_url, spec, [*files(), broken])

    assert "0002_broken.sql" not in await recorded(admin_pool, "kitmig_broken")
    assert await admin_pool.fetchval("SELECT to_regclass('kitmig_broken.half_done')") is None
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_schema = 'kitmig_broken' AND table_name = 'notes'"
        " AND column_name = 'extra'") == 0
    fixed = Migration("0002_broken.sql", "CREATE TABLE half_done (id int);")
    assert await migrate(admin_url, spec, [*files(), fixed]) == ["0002_broken.sql"]


async def test_a_failing_first_run_records_nothing(
        admin_url: str, admin_pool: asyncpg.Pool, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_broken_first")

    with pytest.raises(MigrationError):
        await migrate(admin_url, spec, [*files(), Migration("0002_bad.sql", "SELEC 1;")])

    assert await admin_pool.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'kitmig_broken_first'") == 0


async def test_migrations_run_as_the_schema_owner(
        admin_url: str, admin_pool: asyncpg.Pool, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_owner")
    await migrate(admin_url, spec, files())

    owners = await admin_pool.fetch(
        "SELECT DISTINCT c.relowner::regrole::text AS owner FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'kitmig_owner'")
    assert [r["owner"] for r in owners] == [spec.owner_role]


async def test_concurrent_runs_apply_each_migration_exactly_once(
        admin_url: str, admin_pool: asyncpg.Pool, fresh_schema: Fresh) -> None:
    spec = await fresh_schema("kitmig_concurrent")
    slow = Migration("0002_slow.sql", "SELECT pg_sleep(0.2); CREATE TABLE slow_marker (id int);")
    migrations = [*files(), slow]

    results = await asyncio.gather(*(migrate(admin_url, spec, migrations) for _ in range(3)))

    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(m.name for m in migrations)
    assert sorted(len(r) for r in results) == [0, 0, len(migrations)]
    assert await recorded(admin_pool, "kitmig_concurrent") == {
        m.name: m.checksum for m in migrations}


async def test_migrated_service_dsn_uses_the_admin_urls_server(
        admin_url: str, test_database: str) -> None:
    # Not a hard-coded 127.0.0.1:5432: TUCANO_TEST_ADMIN_URL may name another server.
    other_spelling = admin_url.replace("@127.0.0.1:", "@localhost:")
    if other_spelling == admin_url:
        pytest.skip("the admin URL does not use 127.0.0.1")

    dsn = await migrated_service_dsn(other_spelling, test_database, "kitmig_dsn", ROLE,
                                     MIGRATIONS)

    assert dsn == f"postgresql://{ROLE}@localhost:{urlsplit(admin_url).port}/{test_database}"
    assert await pending(dsn, "kitmig_dsn", files()) == []
