"""Create a service's database objects that migrations cannot: database, roles, schema, grants.

Idempotent, run with an admin DSN (`TUCANO_DATABASE_ADMIN_URL`). For a service with schema `s`
whose DSN logs in as role `r`:

- `s_owner` (NOLOGIN) owns schema `s` and everything migrations create in it;
- `r` (LOGIN, never superuser or BYPASSRLS) gets USAGE on `s` only, and SELECT/INSERT/UPDATE/
  DELETE on its tables through default privileges: no TRUNCATE, REFERENCES or DDL, no access to
  any other service's schema, and it owns no table, so FORCE'd row-level security binds it;
- `r`'s search_path in that database is `s`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

LOCK_KEY = 0x7475_6361  # "tuca": serialises concurrent provisioning of the whole cluster
# Advisory locks are per database but roles are cluster-wide, so the lock is taken in the admin
# DSN's own (maintenance) database, which every caller shares: provisioning one role into two
# databases at once would otherwise fail with "tuple concurrently updated".


@dataclass(frozen=True)
class SchemaSpec:
    schema: str
    login_role: str
    password: str | None
    database: str

    @property
    def owner_role(self) -> str:
        return f"{self.login_role}_owner"

    @classmethod
    def from_dsn(cls, schema: str, service_dsn: str) -> SchemaSpec:
        parts = urlsplit(service_dsn)
        if not parts.username or not parts.path.strip("/"):
            raise ValueError("service DSN needs a user and a database")
        return cls(schema=schema, login_role=unquote(parts.username),
                   password=unquote(parts.password) if parts.password else None,
                   database=parts.path.strip("/"))


def dsn_for_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_database(admin_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # created concurrently
                await conn.execute(f"CREATE DATABASE {_ident(database)}")
    finally:
        await conn.close()


async def provision(admin_dsn: str, spec: SchemaSpec) -> None:
    """Make sure `spec`'s database, roles, schema and grants exist (safe to run repeatedly)."""
    lock_conn = await asyncpg.connect(admin_dsn)
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        await ensure_database(admin_dsn, spec.database)
        await _provision_schema(admin_dsn, spec)
    finally:
        await lock_conn.close()


async def _provision_schema(admin_dsn: str, spec: SchemaSpec) -> None:
    conn = await asyncpg.connect(dsn_for_database(admin_dsn, spec.database))
    try:
        owner, login, schema = (_ident(spec.owner_role), _ident(spec.login_role),
                                _ident(spec.schema))
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname=$1", spec.owner_role):
            await conn.execute(f"CREATE ROLE {owner} NOLOGIN")
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname=$1", spec.login_role):
            await conn.execute(f"CREATE ROLE {login} LOGIN")
        password = f"PASSWORD {_literal(spec.password)}" if spec.password else "PASSWORD NULL"
        await conn.execute(
            f"ALTER ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE {password}")
        await conn.execute(f"ALTER ROLE {owner} NOLOGIN NOSUPERUSER NOBYPASSRLS")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}")
        await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {owner}")
        await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {login}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {login}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
            f" GRANT USAGE, SELECT ON SEQUENCES TO {login}")
        await conn.execute(
            f"ALTER ROLE {login} IN DATABASE {_ident(spec.database)} SET search_path = {schema}")
    finally:
        await conn.close()


def main() -> None:
    """`tucano-db provision --schema S --dsn SERVICE_DSN --admin-dsn ADMIN_DSN`."""
    parser = argparse.ArgumentParser(prog="tucano-db", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("provision", help="create the roles, schema and grants of one service")
    p.add_argument("--schema", required=True)
    p.add_argument("--dsn", required=True, help="the service's own DSN (user, password, db)")
    p.add_argument("--admin-dsn", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(provision(args.admin_dsn, SchemaSpec.from_dsn(args.schema, args.dsn)))
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        sys.exit(f"tucano-db: {exc}")
