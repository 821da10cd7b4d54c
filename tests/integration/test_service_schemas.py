"""Every service's real schema, provisioned and migrated as in production, in one database.

Checks the isolation promises of ARCHITECTURE.md ("Data and tenancy") on the real tables:
roles cannot reach other services' schemas, and tenant-scoped tables hide other tenants' rows.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest
from tucano_auth.adapters.postgres import MIGRATIONS as AUTH
from tucano_campaigns.adapters.postgres import MIGRATIONS as CAMPAIGNS
from tucano_kit.postgres import check_role_is_safe, create_pool, tenant_transaction
from tucano_kit.postgres.audit import audit_schema
from tucano_kit.testing import migrated_service_dsn
from tucano_messaging.adapters.postgres import MIGRATIONS as MESSAGING
from tucano_tenants.adapters.postgres import MIGRATIONS as TENANTS
from tucano_webhooks_gateway.adapters.postgres import MIGRATIONS as WEBHOOKS

pytestmark = pytest.mark.integration

SERVICES: dict[str, tuple[str, Path]] = {
    "auth": ("tucano_auth", AUTH),
    "tenants": ("tucano_tenants", TENANTS),
    "campaigns": ("tucano_campaigns", CAMPAIGNS),
    "messaging": ("tucano_messaging", MESSAGING),
    "webhooks": ("tucano_webhooks", WEBHOOKS),
}


@pytest.fixture(scope="module")
async def dsns(admin_url: str, test_database: str) -> dict[str, str]:
    return {schema: await migrated_service_dsn(admin_url, test_database, schema, role, folder)
            for schema, (role, folder) in SERVICES.items()}


@pytest.mark.parametrize("schema", sorted(SERVICES))
async def test_every_service_role_is_safe_for_rls(dsns: dict[str, str], schema: str) -> None:
    pool = await create_pool(dsns[schema], application_name="test", max_size=1)
    try:
        await check_role_is_safe(pool, "dsn")
    finally:
        await pool.close()


@pytest.mark.parametrize("schema", sorted(SERVICES))
async def test_every_tenant_scoped_table_is_under_forced_rls_on_app_tenant_id(
        dsns: dict[str, str], schema: str) -> None:
    """The static audit (ENABLE + FORCE, USING + WITH CHECK on app.tenant_id, views with
    security_invoker) over every table a service's migrations create, so a new table that
    forgets its policy fails here."""
    conn = await asyncpg.connect(dsns[schema])
    try:
        assert await audit_schema(conn, schema) == []
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
            " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')", schema)
    finally:
        await conn.close()
    # The audit had tables to look at, where there are any: auth's tables are per user (an
    # identity spans tenants) and the gateway's raw deliveries precede any tenant (it stores
    # Meta's bytes before it parses them).
    assert (tables > 0) == (schema not in {"auth", "webhooks"}), tables


@pytest.mark.parametrize(("reader", "owner", "table"), [
    ("auth", "campaigns", "contacts"),
    ("campaigns", "auth", "signing_keys"),
    ("messaging", "campaigns", "contacts"),
    ("webhooks", "messaging", "channels"),
    ("tenants", "auth", "signing_keys"),
])
async def test_a_service_role_cannot_read_another_services_schema(
        dsns: dict[str, str], reader: str, owner: str, table: str) -> None:
    conn = await asyncpg.connect(dsns[reader])
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError,
                           match=f"permission denied for schema {owner}"):
            await conn.fetch(f"SELECT * FROM {owner}.{table}")
    finally:
        await conn.close()


async def test_the_app_role_can_neither_truncate_nor_alter_its_own_tables(
        dsns: dict[str, str]) -> None:
    conn = await asyncpg.connect(dsns["campaigns"])
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE contacts")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE contacts DISABLE ROW LEVEL SECURITY")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE sneaky (id int)")
    finally:
        await conn.close()


async def test_contacts_rls_on_the_real_table(dsns: dict[str, str]) -> None:
    pool = await create_pool(dsns["campaigns"], application_name="test", max_size=1)
    a, b = uuid.uuid4(), uuid.uuid4()
    try:
        for tenant, phone in ((a, "+16505550001"), (b, "+16505550002")):
            async with tenant_transaction(pool, tenant) as conn:
                await conn.execute("INSERT INTO contacts (id, tenant_id, phone_number)"
                                   " VALUES ($1, $2, $3)", uuid.uuid4(), tenant, phone)
        async with tenant_transaction(pool, a) as conn:
            rows = await conn.fetch("SELECT * FROM contacts")
            assert {r["tenant_id"] for r in rows} == {a}
            assert await conn.execute("UPDATE contacts SET display_name = 'x'"
                                      " WHERE tenant_id = $1", b) == "UPDATE 0"
            assert await conn.execute("DELETE FROM contacts WHERE tenant_id = $1", b) == "DELETE 0"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with tenant_transaction(pool, a) as conn:
                await conn.execute("INSERT INTO contacts (id, tenant_id, phone_number)"
                                   " VALUES ($1, $2, '+16505550003')", uuid.uuid4(), b)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with tenant_transaction(pool, a) as conn:
                await conn.execute("UPDATE contacts SET tenant_id = $1", b)
        # The same pooled connection, after tenant transactions, with no tenant set:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") in ("",
                                                                                          None)
            assert await conn.fetch("SELECT * FROM contacts") == []
        fresh = await asyncpg.connect(dsns["campaigns"])
        try:
            assert await fresh.fetch("SELECT * FROM contacts") == []
        finally:
            await fresh.close()
    finally:
        await pool.close()
