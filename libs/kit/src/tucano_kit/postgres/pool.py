"""asyncpg pools, the tenant transaction, and the start-up role check.

Tenant isolation is row-level security on `current_setting('app.tenant_id', true)`. Tenant work
runs inside `tenant_transaction`, which sets that value with `set_config(..., true)`: local to
the transaction, so a pooled connection never carries one tenant's id into the next user's
work (it reads back as '' afterwards, which the policies treat as "no tenant").

PostgreSQL lets superusers and BYPASSRLS roles, and table owners without FORCE, skip RLS. A
service therefore refuses to run as such a role (`check_role_is_safe`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg

from tucano_kit.settings import ConfigError


class UnsafeDatabaseRole(ConfigError):
    """The service's login role could bypass row-level security."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads,
                                  schema="pg_catalog")


async def create_pool(dsn: str, *, application_name: str, min_size: int = 1,
                      max_size: int = 10, command_timeout: float = 30.0) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, command_timeout=command_timeout,
        init=_init_connection, server_settings={"application_name": application_name})
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def scoped_transaction(pool: asyncpg.Pool, scope: Mapping[str, Any],
                             *, readonly: bool = False) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction with `app.<key>` settings (e.g. tenant_id, user_id) set
    locally, which the schema's row-level security policies read."""
    if not scope or not all(scope.values()):
        raise ValueError("a scoped transaction needs at least one non-empty scope value")
    async with pool.acquire() as conn, conn.transaction(readonly=readonly):
        for key, value in scope.items():
            await conn.execute("SELECT set_config($1, $2, true)", f"app.{key}", str(value))
        yield conn


def tenant_transaction(pool: asyncpg.Pool, tenant_id: Any, *, readonly: bool = False
                       ) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
    """A connection in a transaction that sees (and may write) only `tenant_id`'s rows."""
    if not tenant_id:
        raise ValueError("tenant_id is required for a tenant transaction")
    return scoped_transaction(pool, {"tenant_id": tenant_id}, readonly=readonly)


async def check_role_is_safe(pool: asyncpg.Pool, setting: str) -> None:
    """Refuse superusers, BYPASSRLS roles and roles owning tables (they would skip RLS).

    Membership counts: a role that can SET ROLE to a superuser or BYPASSRLS role, or that is a
    member of a table's owner (and so may ALTER it to drop FORCE/RLS), is just as unsafe.
    """
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT r.rolname, r.rolsuper, r.rolbypassrls,"
            " (SELECT count(*) FROM pg_class c WHERE c.relkind IN ('r', 'p')"
            "  AND c.relpersistence <> 't'"  # its own temporary staging tables are fine
            "  AND pg_has_role(r.oid, c.relowner, 'MEMBER')) AS owned,"
            " ARRAY(SELECT m.rolname FROM pg_roles m WHERE m.oid <> r.oid"
            "  AND (m.rolsuper OR m.rolbypassrls) AND pg_has_role(r.oid, m.oid, 'MEMBER')"
            "  ORDER BY m.rolname) AS powerful_roles"
            " FROM pg_roles r WHERE r.rolname = current_user")
    assert row is not None
    problems = [text for flag, text in (
        (row["rolsuper"], "is a superuser"), (row["rolbypassrls"], "has BYPASSRLS"),
        (bool(row["powerful_roles"]),
         f"can SET ROLE to superuser/BYPASSRLS role(s) {', '.join(row['powerful_roles'])}"),
        (row["owned"] > 0, f"owns {row['owned']} tables (directly or through membership)"))
        if flag]
    if problems:
        raise UnsafeDatabaseRole(
            f"{setting}: role {row['rolname']} {' and '.join(problems)}, so row-level security"
            " would not apply; use the service's own login role")
