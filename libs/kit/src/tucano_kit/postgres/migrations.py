"""Versioned SQL migrations per service schema: checksummed, serialised, idempotent.

A service's migrations are `NNNN_name.sql` files in its `adapters/postgres/migrations/` folder,
preceded by the kit's own (`kit:NNNN_name.sql`: outbox and inbox tables). `migrate`:

- runs in one transaction holding an advisory lock per schema, so concurrent runs queue up;
- refuses to continue if an applied migration's file changed (checksum mismatch) or vanished;
- applies each pending file in a savepoint as the schema's owner role with `search_path` set
  to the schema, and records name, checksum and time; any failure rolls the whole run back;
- re-running with nothing pending changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

from tucano_kit.postgres.provision import SchemaSpec, _ident, dsn_for_database


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_folder(folder: Path, prefix: str = "") -> list[Migration]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".sql")
    for path in files:
        if not path.name[:4].isdigit() or path.name[4] != "_":
            raise MigrationError(f"migration file {path.name} must be named NNNN_name.sql")
    return [Migration(prefix + p.name, p.read_text()) for p in files]


def kit_migrations() -> list[Migration]:
    folder = resources.files("tucano_kit.postgres") / "migrations"
    return load_folder(Path(str(folder)), prefix="kit:")


def service_migrations(folder: Path) -> list[Migration]:
    """The kit's migrations followed by the service's own."""
    return [*kit_migrations(), *load_folder(folder)]


async def migrate(admin_dsn: str, spec: SchemaSpec, migrations: list[Migration]) -> list[str]:
    """Apply pending migrations to `spec.schema`; returns the names applied now."""
    conn = await asyncpg.connect(dsn_for_database(admin_dsn, spec.database))
    schema, owner = _ident(spec.schema), _ident(spec.owner_role)
    applied_now: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('tucano.migrate'),"
                               " hashtext($1))", spec.schema)
            await conn.execute(f"SET LOCAL ROLE {owner}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())")
            rows = await conn.fetch(f"SELECT name, checksum FROM {schema}.schema_migrations")
            applied = {r["name"]: r["checksum"] for r in rows}
            known = {m.name: m for m in migrations}
            for name, checksum in applied.items():
                if name not in known:
                    raise MigrationError(
                        f"{spec.schema}: applied migration {name} is missing from the code")
                if known[name].checksum != checksum:
                    raise MigrationError(
                        f"{spec.schema}: migration {name} changed after it was applied "
                        f"(checksum {checksum[:12]} in the database, "
                        f"{known[name].checksum[:12]} in the file); add a new migration instead")
            for migration in migrations:
                if migration.name in applied:
                    continue
                async with conn.transaction():  # a savepoint: one failed file leaves no trace
                    await conn.execute(f"SET LOCAL search_path = {schema}")
                    await conn.execute(migration.sql)
                    await conn.execute(
                        f"INSERT INTO {schema}.schema_migrations (name, checksum)"
                        " VALUES ($1, $2)", migration.name, migration.checksum)
                applied_now.append(migration.name)
    except asyncpg.PostgresError as exc:
        raise MigrationError(f"{spec.schema}: {exc}") from exc
    finally:
        await conn.close()
    return applied_now


async def pending(dsn: str, schema: str, migrations: list[Migration]) -> list[str]:
    """Migrations not yet applied, read with the service's own role (for its start-up check)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f"SELECT name FROM {_ident(schema)}.schema_migrations")
    except asyncpg.UndefinedTableError:
        return [m.name for m in migrations]
    finally:
        await conn.close()
    done = {r["name"] for r in rows}
    return [m.name for m in migrations if m.name not in done]
