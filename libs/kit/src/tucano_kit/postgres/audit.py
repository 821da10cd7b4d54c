"""A static check of one schema against the tenancy rules, for service test suites.

`audit_schema` lists what would let one tenant see another's rows:

- a table with a `tenant_id` column without ENABLE or FORCE ROW LEVEL SECURITY;
- such a table without a policy carrying both USING and WITH CHECK, or with a permissive policy
  whose expressions do not read `app.tenant_id` (permissive policies are OR'ed, so one such
  policy opens the table);
- a view without `security_invoker=true` (it would read the tables as its owner).

    assert await audit_schema(conn, "tenants") == []
"""

from __future__ import annotations

import asyncpg

_TABLES = """
SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
              AND a.attname = 'tenant_id' AND a.attnum > 0 AND NOT a.attisdropped)
ORDER BY c.relname
"""

_POLICIES = """
SELECT p.polname, p.polpermissive,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr
FROM pg_policy p WHERE p.polrelid = $1
ORDER BY p.polname
"""

_VIEWS = """
SELECT c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'v'
  AND NOT coalesce((SELECT o.option_value::boolean
                    FROM pg_options_to_table(c.reloptions) o
                    WHERE o.option_name = 'security_invoker'), false)
ORDER BY c.relname
"""

_SETTING = "app.tenant_id"


async def audit_schema(conn: asyncpg.Connection, schema: str) -> list[str]:
    """Problems with `schema`'s tenant isolation, one line each; empty when it is sound."""
    problems: list[str] = []
    for table in await conn.fetch(_TABLES, schema):
        name = f"{schema}.{table['relname']}"
        if not table["relrowsecurity"]:
            problems.append(f"{name}: has tenant_id but row-level security is not enabled")
        if not table["relforcerowsecurity"]:
            problems.append(f"{name}: has tenant_id but row-level security is not forced")
        policies = await conn.fetch(_POLICIES, table["oid"])
        if not any(p["using_expr"] and p["check_expr"] for p in policies):
            problems.append(f"{name}: no policy with both USING and WITH CHECK")
        for policy in policies:
            exprs = [e for e in (policy["using_expr"], policy["check_expr"]) if e]
            if policy["polpermissive"] and not all(_SETTING in e for e in exprs):
                problems.append(
                    f"{name}: permissive policy {policy['polname']} does not check {_SETTING}")
    for view in await conn.fetch(_VIEWS, schema):
        problems.append(f"{schema}.{view['relname']}: view without security_invoker=true")
    return problems
