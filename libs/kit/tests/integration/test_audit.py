"""postgres.audit.audit_schema finds tables and views that would leak across tenants."""

from __future__ import annotations

import asyncpg
import pytest
from tucano_kit.postgres.audit import audit_schema

pytestmark = pytest.mark.integration

POLICY = "(tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)"

BROKEN_SCHEMA = f"""
CREATE SCHEMA kitaudit;
SET LOCAL search_path = kitaudit;

CREATE TABLE no_rls (id int, tenant_id uuid);

CREATE TABLE not_forced (id int, tenant_id uuid);
ALTER TABLE not_forced ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON not_forced USING {POLICY} WITH CHECK {POLICY};

CREATE TABLE forced_not_enabled (id int, tenant_id uuid);
ALTER TABLE forced_not_enabled FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON forced_not_enabled USING {POLICY} WITH CHECK {POLICY};

CREATE TABLE no_policy (id int, tenant_id uuid);
ALTER TABLE no_policy ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

CREATE TABLE using_only (id int, tenant_id uuid);
ALTER TABLE using_only ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON using_only USING {POLICY};

CREATE TABLE split_policies (id int, tenant_id uuid);
ALTER TABLE split_policies ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY r ON split_policies FOR SELECT USING {POLICY};
CREATE POLICY w ON split_policies FOR INSERT WITH CHECK {POLICY};

CREATE TABLE opened_up (id int, tenant_id uuid);
ALTER TABLE opened_up ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON opened_up USING {POLICY} WITH CHECK {POLICY};
CREATE POLICY support ON opened_up FOR SELECT USING (true);

CREATE TABLE with_restrictive_extra (id int, tenant_id uuid, deleted boolean);
ALTER TABLE with_restrictive_extra ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON with_restrictive_extra USING {POLICY} WITH CHECK {POLICY};
CREATE POLICY live ON with_restrictive_extra AS RESTRICTIVE USING (NOT deleted);

CREATE TABLE plans (id text PRIMARY KEY);

CREATE TABLE dropped_tenant (id int, tenant_id uuid);
ALTER TABLE dropped_tenant DROP COLUMN tenant_id;

CREATE VIEW definer_view AS SELECT * FROM with_restrictive_extra;
CREATE VIEW explicit_definer_view WITH (security_invoker = false) AS SELECT 1 AS one;
CREATE VIEW invoker_view WITH (security_invoker = on) AS SELECT * FROM with_restrictive_extra;
CREATE VIEW invoker_view_2 WITH (security_invoker) AS SELECT * FROM plans;
"""


async def test_the_good_schema_passes(admin_pool: asyncpg.Pool, kittest_dsn: str) -> None:
    async with admin_pool.acquire() as conn:
        assert await audit_schema(conn, "kittest") == []


async def test_an_unknown_schema_has_nothing_to_report(admin_pool: asyncpg.Pool) -> None:
    async with admin_pool.acquire() as conn:
        assert await audit_schema(conn, "no_such_schema") == []


async def test_every_broken_table_and_view_is_reported(admin_pool: asyncpg.Pool) -> None:
    async with admin_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(BROKEN_SCHEMA)
            problems = await audit_schema(conn, "kitaudit")
        finally:
            await transaction.rollback()  # leave no broken schema behind

    assert sorted(problems) == sorted([
        "kitaudit.no_rls: has tenant_id but row-level security is not enabled",
        "kitaudit.no_rls: has tenant_id but row-level security is not forced",
        "kitaudit.no_rls: no policy with both USING and WITH CHECK",
        "kitaudit.not_forced: has tenant_id but row-level security is not forced",
        "kitaudit.forced_not_enabled: has tenant_id but row-level security is not enabled",
        "kitaudit.no_policy: no policy with both USING and WITH CHECK",
        "kitaudit.using_only: no policy with both USING and WITH CHECK",
        "kitaudit.split_policies: no policy with both USING and WITH CHECK",
        "kitaudit.opened_up: permissive policy support does not check app.tenant_id",
        "kitaudit.definer_view: view without security_invoker=true",
        "kitaudit.explicit_definer_view: view without security_invoker=true",
    ])
