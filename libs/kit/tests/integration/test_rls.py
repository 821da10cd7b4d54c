"""Row-level security through `tenant_transaction`, as the service's own login role.

Every test makes its own tenants, so the tests do not depend on each other's rows.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from tucano_kit.postgres.pool import create_pool, scoped_transaction, tenant_transaction
from tucano_kit.testing import migrated_service_dsn

pytestmark = pytest.mark.integration

Seed = Callable[[uuid.UUID, int], Awaitable[list[uuid.UUID]]]
RLS_VIOLATION = "new row violates row-level security policy"


class Boom(Exception):
    """Raised on purpose inside a tenant transaction."""


async def test_a_tenant_sees_only_its_own_rows(kittest_pool: asyncpg.Pool, seed: Seed) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    a_ids = await seed(a, 3)
    await seed(b, 3)

    async with tenant_transaction(kittest_pool, a) as conn:
        rows = await conn.fetch("SELECT * FROM notes")
        counts = await conn.fetch("SELECT * FROM note_counts")
        b_rows = await conn.fetchval("SELECT count(*) FROM notes WHERE tenant_id = $1", b)

    assert sorted(r["id"] for r in rows) == sorted(a_ids)
    assert {r["tenant_id"] for r in rows} == {a}
    assert [(r["tenant_id"], r["notes"]) for r in counts] == [(a, 3)]
    assert b_rows == 0


async def test_a_tenant_cannot_insert_rows_for_another(
        kittest_pool: asyncpg.Pool, admin_pool: asyncpg.Pool) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=RLS_VIOLATION):
        async with tenant_transaction(kittest_pool, a) as conn:
            await conn.execute("INSERT INTO notes (id, tenant_id) VALUES ($1, $2)",
                               uuid.uuid4(), b)

    assert await admin_pool.fetchval(
        "SELECT count(*) FROM kittest.notes WHERE tenant_id = $1", b) == 0


async def test_a_tenant_cannot_move_its_rows_to_another(
        kittest_pool: asyncpg.Pool, admin_pool: asyncpg.Pool, seed: Seed) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    [note] = await seed(a, 1)

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=RLS_VIOLATION):
        async with tenant_transaction(kittest_pool, a) as conn:
            await conn.execute("UPDATE notes SET tenant_id = $1 WHERE id = $2", b, note)

    assert await admin_pool.fetchval(
        "SELECT tenant_id FROM kittest.notes WHERE id = $1", note) == a


async def test_a_tenant_cannot_update_or_delete_another_tenants_rows(
        kittest_pool: asyncpg.Pool, admin_pool: asyncpg.Pool, seed: Seed) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    b_ids = await seed(b, 2)

    async with tenant_transaction(kittest_pool, a) as conn:
        updated = await conn.execute("UPDATE notes SET body = 'pwned'")
        updated_by_id = await conn.execute("UPDATE notes SET body = 'pwned' WHERE id = $1",
                                           b_ids[0])
        deleted = await conn.execute("DELETE FROM notes WHERE tenant_id = $1", b)

    assert (updated, updated_by_id, deleted) == ("UPDATE 0", "UPDATE 0", "DELETE 0")
    rows = await admin_pool.fetch("SELECT body FROM kittest.notes WHERE tenant_id = $1", b)
    assert len(rows) == 2 and all(r["body"] != "pwned" for r in rows)


async def test_no_tenant_sees_nothing_on_a_fresh_connection(
        kittest_dsn: str, seed: Seed) -> None:
    await seed(uuid.uuid4(), 2)
    conn = await asyncpg.connect(kittest_dsn)
    try:
        assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") is None
        assert await conn.fetch("SELECT * FROM notes") == []
        assert await conn.fetch("SELECT * FROM note_counts") == []
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match=RLS_VIOLATION):
            await conn.execute("INSERT INTO notes (id, tenant_id) VALUES ($1, $2)",
                               uuid.uuid4(), uuid.uuid4())
    finally:
        await conn.close()


async def _no_reset(conn: asyncpg.Connection) -> None:
    """A pool reset that keeps session state, so only SET LOCAL can clear the tenant."""


async def kit_pool(dsn: str) -> asyncpg.Pool:
    return await create_pool(dsn, application_name="kittest-reuse", min_size=1, max_size=1)


async def pool_without_reset(dsn: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, reset=_no_reset)
    assert pool is not None
    return pool


@pytest.mark.parametrize("make_pool", [kit_pool, pool_without_reset])
async def test_no_tenant_sees_nothing_on_a_pooled_connection_after_a_tenant_used_it(
        kittest_dsn: str, seed: Seed,
        make_pool: Callable[[str], Awaitable[asyncpg.Pool]]) -> None:
    # The kit's pool also RESETs ALL on release; without that, the transaction-local
    # set_config alone must leave nothing behind.
    a = uuid.uuid4()
    await seed(a, 2)
    pool = await make_pool(kittest_dsn)
    try:
        async with tenant_transaction(pool, a) as conn:
            pid = conn.get_server_pid()
            assert len(await conn.fetch("SELECT * FROM notes")) == 2
        with pytest.raises(Boom):
            async with tenant_transaction(pool, a) as conn:
                assert conn.get_server_pid() == pid
                await conn.execute("INSERT INTO notes (id, tenant_id) VALUES ($1, $2)",
                                   uuid.uuid4(), a)
                raise Boom

        async with pool.acquire() as conn:
            assert conn.get_server_pid() == pid  # the very connection tenant `a` just used
            assert await conn.fetchval(
                "SELECT current_setting('app.tenant_id', true)") in ("", None)
            assert await conn.fetch("SELECT * FROM notes") == []
            async with conn.transaction():
                assert await conn.fetch("SELECT * FROM notes") == []
        async with tenant_transaction(pool, a) as conn:
            assert len(await conn.fetch("SELECT * FROM notes")) == 2  # the insert rolled back
    finally:
        await pool.close()


async def test_every_scope_value_is_transaction_local(kittest_dsn: str) -> None:
    a = uuid.uuid4()
    pool = await pool_without_reset(kittest_dsn)
    try:
        async with scoped_transaction(pool, {"tenant_id": a, "user_id": "u-1"}) as conn:
            pid = conn.get_server_pid()
            assert await conn.fetchval("SELECT current_setting('app.tenant_id')") == str(a)
            assert await conn.fetchval("SELECT current_setting('app.user_id')") == "u-1"
        async with pool.acquire() as conn:
            assert conn.get_server_pid() == pid
            assert await conn.fetchval(
                "SELECT current_setting('app.tenant_id', true) || '|'"
                " || current_setting('app.user_id', true)") == "|"
    finally:
        await pool.close()


@pytest.mark.parametrize("scope", [{}, {"tenant_id": ""}, {"tenant_id": "t", "user_id": None}])
async def test_a_scoped_transaction_needs_every_value(kittest_pool: asyncpg.Pool,
                                                     scope: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        async with scoped_transaction(kittest_pool, scope):
            pass


@pytest.mark.parametrize("tenant", ["", None])
async def test_a_tenant_transaction_needs_a_tenant(kittest_pool: asyncpg.Pool,
                                                   tenant: str | None) -> None:
    with pytest.raises(ValueError, match="tenant_id is required"):
        async with tenant_transaction(kittest_pool, tenant):
            pass


async def test_a_read_only_tenant_transaction_cannot_write(kittest_pool: asyncpg.Pool) -> None:
    a = uuid.uuid4()
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        async with tenant_transaction(kittest_pool, a, readonly=True) as conn:
            await conn.execute("INSERT INTO notes (id, tenant_id) VALUES ($1, $2)",
                               uuid.uuid4(), a)


async def test_soak_interleaved_tenants_on_a_small_pool_never_leak(
        kittest_dsn: str, seed: Seed) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    expected = {a: set(await seed(a, 4)), b: set(await seed(b, 4))}
    rng = random.Random(20250101)
    plan = [(rng.choice((a, b, None)), rng.random() < 0.05) for _ in range(3000)]
    seen: dict[uuid.UUID | None, int] = {a: 0, b: 0, None: 0}
    leaks: list[str] = []
    gate = asyncio.Semaphore(8)
    pool = await create_pool(kittest_dsn, application_name="kittest-soak",
                             min_size=2, max_size=2)

    async def no_tenant_read() -> None:
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT id, tenant_id FROM notes")
        if rows:
            leaks.append(f"no tenant saw {len(rows)} rows")

    async def tenant_work(tenant: uuid.UUID, fail: bool) -> None:
        extra = uuid.uuid4()  # inserted, seen, then rolled back when the transaction fails
        try:
            async with tenant_transaction(pool, tenant) as conn:
                if fail:
                    await conn.execute("INSERT INTO notes (id, tenant_id) VALUES ($1, $2)",
                                       extra, tenant)
                rows = await conn.fetch("SELECT id, tenant_id FROM notes")
                if fail:
                    raise Boom
        except Boom:
            pass
        foreign = [r for r in rows if r["tenant_id"] != tenant]
        if foreign:
            leaks.append(f"{tenant} saw {len(foreign)} rows of another tenant")
        if {r["id"] for r in rows} != expected[tenant] | ({extra} if fail else set()):
            leaks.append(f"{tenant} saw {sorted(r['id'] for r in rows)}")

    async def one(tenant: uuid.UUID | None, fail: bool) -> None:
        async with gate:
            if tenant is None:
                await no_tenant_read()
            else:
                await tenant_work(tenant, fail)
            seen[tenant] += 1

    try:
        await asyncio.gather(*(one(tenant, fail) for tenant, fail in plan))
    finally:
        await pool.close()

    assert leaks == []
    assert sum(seen.values()) == 3000 and min(seen.values()) > 800


async def test_copy_into_an_rls_table_is_refused_but_a_staging_table_works(
        kittest_pool: asyncpg.Pool, admin_pool: asyncpg.Pool) -> None:
    # PostgreSQL refuses COPY FROM into a table whose RLS applies to the caller ("COPY FROM not
    # supported with row-level security"): bulk loads go through a temporary staging table and
    # INSERT ... SELECT, which the policies' WITH CHECK then guards row by row.
    a, b = uuid.uuid4(), uuid.uuid4()
    records = [(uuid.uuid4(), a, f"bulk {i}") for i in range(50)]

    with pytest.raises(asyncpg.FeatureNotSupportedError, match="row-level security"):
        async with tenant_transaction(kittest_pool, a) as conn:
            await conn.copy_records_to_table("notes", records=records,
                                             columns=["id", "tenant_id", "body"])

    async with tenant_transaction(kittest_pool, a) as conn:
        await conn.execute("CREATE TEMP TABLE notes_staging (LIKE notes) ON COMMIT DROP")
        await conn.copy_records_to_table("notes_staging", records=records,
                                         columns=["id", "tenant_id", "body"])
        inserted = await conn.execute("INSERT INTO notes SELECT * FROM notes_staging")
    assert inserted == "INSERT 0 50"
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM kittest.notes WHERE tenant_id = $1", a) == 50

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match=RLS_VIOLATION):
        async with tenant_transaction(kittest_pool, a) as conn:
            await conn.execute("CREATE TEMP TABLE notes_staging (LIKE notes) ON COMMIT DROP")
            await conn.copy_records_to_table(
                "notes_staging", records=[(uuid.uuid4(), a, "mine"), (uuid.uuid4(), b, "theirs")],
                columns=["id", "tenant_id", "body"])
            await conn.execute("INSERT INTO notes SELECT * FROM notes_staging")
    assert await admin_pool.fetchval(
        "SELECT count(*) FROM kittest.notes WHERE tenant_id = ANY($1::uuid[])", [a, b]) == 50


async def test_a_service_role_cannot_read_another_services_schema(
        admin_url: str, test_database: str, kittest_dsn: str, seed: Seed) -> None:
    other_dsn = await migrated_service_dsn(admin_url, test_database, "kittest_other",
                                           "tucano_kittest_other",
                                           Path(__file__).parent / "migrations")
    await seed(uuid.uuid4(), 1)

    for dsn, foreign in ((other_dsn, "kittest"), (kittest_dsn, "kittest_other")):
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM notes") == 0  # its own table
            with pytest.raises(asyncpg.InsufficientPrivilegeError,
                               match=f"permission denied for schema {foreign}"):
                await conn.fetch(f"SELECT * FROM {foreign}.notes")
            with pytest.raises(asyncpg.InsufficientPrivilegeError,
                               match=f"permission denied for schema {foreign}"):
                await conn.execute(f"INSERT INTO {foreign}.notes (id, tenant_id)"
                                   " VALUES (gen_random_uuid(), gen_random_uuid())")
        finally:
            await conn.close()
