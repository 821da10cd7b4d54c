"""provision and the start-up role check, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from tucano_kit.postgres.pool import UnsafeDatabaseRole, check_role_is_safe, create_pool
from tucano_kit.postgres.provision import SchemaSpec, dsn_for_database, provision

pytestmark = pytest.mark.integration

SETTING = "TUCANO_KITTEST_DATABASE_URL"
DsnAs = Callable[[str], str]


async def unsafe_reason(dsn: str) -> str | None:
    pool = await create_pool(dsn, application_name="kittest-check", min_size=1, max_size=1)
    try:
        await check_role_is_safe(pool, SETTING)
    except UnsafeDatabaseRole as exc:
        return str(exc)
    finally:
        await pool.close()
    return None


async def test_provisioning_again_changes_nothing_and_keeps_the_role_powerless(
        admin_url: str, admin_pool: asyncpg.Pool, kittest_dsn: str) -> None:
    spec = SchemaSpec.from_dsn("kittest", kittest_dsn)

    await provision(admin_url, spec)
    await provision(admin_url, spec)

    login = await admin_pool.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1",
                                      spec.login_role)
    owner = await admin_pool.fetchrow("SELECT * FROM pg_roles WHERE rolname = $1",
                                      spec.owner_role)
    assert login is not None and owner is not None
    assert login["rolcanlogin"] and not owner["rolcanlogin"]
    for role in (login, owner):
        assert not role["rolsuper"] and not role["rolbypassrls"]
        assert not role["rolcreatedb"] and not role["rolcreaterole"]
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM pg_class WHERE relowner = $1", login["oid"]) == 0
    assert await admin_pool.fetchval(
        "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'kittest'"
    ) == spec.owner_role
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'kittest' AND c.relowner <> $1::regrole", spec.owner_role) == 0


async def test_the_service_role_has_dml_only(kittest_dsn: str) -> None:
    conn = await asyncpg.connect(kittest_dsn)
    try:
        assert await conn.fetchval("SHOW search_path") == "kittest"
        assert await conn.fetchval("SELECT count(*) FROM notes") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE notes")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE kittest.scratch (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.scratch (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE notes DISABLE ROW LEVEL SECURITY")
    finally:
        await conn.close()


async def test_the_service_role_passes_the_role_check(kittest_dsn: str) -> None:
    assert await unsafe_reason(kittest_dsn) is None


async def test_its_own_temporary_tables_in_another_session_do_not_fail_the_check(
        kittest_dsn: str) -> None:
    # A bulk load in one process stages rows in a temporary table (COPY cannot load an RLS
    # table); a replica starting meanwhile must still pass.
    conn = await asyncpg.connect(kittest_dsn)
    try:
        await conn.execute("CREATE TEMPORARY TABLE staging (x int)")
        assert await unsafe_reason(kittest_dsn) is None
    finally:
        await conn.close()


async def test_a_superuser_is_refused(admin_dsn: str) -> None:
    reason = await unsafe_reason(admin_dsn)

    assert reason is not None
    assert reason.startswith(f"{SETTING}: role postgres is a superuser")
    assert "\n" not in reason


async def test_a_bypassrls_role_is_refused(admin_pool: asyncpg.Pool, throwaway_role: str,
                                           dsn_as: DsnAs) -> None:
    await admin_pool.execute(f'ALTER ROLE "{throwaway_role}" BYPASSRLS')

    reason = await unsafe_reason(dsn_as(throwaway_role))

    assert reason is not None and "has BYPASSRLS" in reason


async def test_a_role_owning_a_table_is_refused(admin_pool: asyncpg.Pool, throwaway_role: str,
                                                dsn_as: DsnAs) -> None:
    async with admin_pool.acquire() as conn:
        await conn.execute(f'CREATE TABLE public."{throwaway_role}" (id int)')
        await conn.execute(f'ALTER TABLE public."{throwaway_role}" OWNER TO "{throwaway_role}"')

    reason = await unsafe_reason(dsn_as(throwaway_role))

    assert reason is not None and "owns 1 tables" in reason


async def test_a_member_of_the_schema_owner_role_is_refused(
        admin_pool: asyncpg.Pool, throwaway_role: str, dsn_as: DsnAs, kittest_dsn: str) -> None:
    # It could SET ROLE tucano_kittest_owner and ALTER TABLE notes NO FORCE ROW LEVEL SECURITY.
    await admin_pool.execute(f'GRANT tucano_kittest_owner TO "{throwaway_role}"')

    reason = await unsafe_reason(dsn_as(throwaway_role))

    assert reason is not None and "owns" in reason and "membership" in reason


async def test_a_member_of_a_bypassrls_role_is_refused(
        admin_pool: asyncpg.Pool, throwaway_role: str, dsn_as: DsnAs) -> None:
    powerful = f"{throwaway_role}_bypass"
    await admin_pool.execute(f'CREATE ROLE "{powerful}" NOLOGIN BYPASSRLS')
    try:
        await admin_pool.execute(f'GRANT "{powerful}" TO "{throwaway_role}"')

        reason = await unsafe_reason(dsn_as(throwaway_role))
    finally:
        await admin_pool.execute(f'DROP ROLE "{powerful}"')

    assert reason is not None and powerful in reason


@pytest.fixture
async def spare_databases(admin_url: str) -> AsyncIterator[list[str]]:
    names = [f"tucano_test_{secrets.token_hex(4)}_spare{i}" for i in range(2)]
    conn = await asyncpg.connect(admin_url)
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
        yield names
    finally:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_one_role_can_be_provisioned_into_several_databases_at_once(
        admin_url: str, test_database: str, spare_databases: list[str]) -> None:
    # Roles are cluster-wide: concurrent ALTER ROLEs from different databases used to fail
    # with "tuple concurrently updated" because the advisory lock was per database.
    role = f"kittest_multi_{secrets.token_hex(4)}"
    databases = [test_database, *spare_databases]
    try:
        for _ in range(3):
            await asyncio.gather(*(provision(admin_url, SchemaSpec("kitmulti", role, None, db))
                                   for db in databases))
    finally:
        for db in databases:
            conn = await asyncpg.connect(dsn_for_database(admin_url, db))
            try:
                for name in (role, f"{role}_owner"):
                    if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname=$1", name):
                        await conn.execute(f'DROP OWNED BY "{name}"')
            finally:
                await conn.close()
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
            await conn.execute(f'DROP ROLE IF EXISTS "{role}_owner"')
        finally:
            await conn.close()
