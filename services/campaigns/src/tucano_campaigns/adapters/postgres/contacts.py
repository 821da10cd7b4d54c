"""Contacts in PostgreSQL, always inside a tenant transaction (row-level security)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import IO

import asyncpg
from tucano_kit.errors import AlreadyExists
from tucano_kit.postgres import tenant_transaction

from tucano_campaigns.application.ports import ImportCounts
from tucano_campaigns.domain.contacts import Contact, check_contact_limit

_COLUMNS = "id, tenant_id, phone_number, display_name, tags, created_at"


def _contact(row: asyncpg.Record) -> Contact:
    return Contact(id=row["id"], tenant_id=row["tenant_id"], phone_number=row["phone_number"],
                   display_name=row["display_name"], tags=list(row["tags"]),
                   created_at=row["created_at"])


# Staging for imports: COPY cannot load a table under row-level security, so rows go to a
# temporary table first (private to the connection, dropped at commit) and from there into
# contacts with one INSERT … ON CONFLICT, which RLS checks.
_STAGING = ("CREATE TEMPORARY TABLE contact_import (line integer NOT NULL,"
            " phone_number text NOT NULL, display_name text NOT NULL, tags text NOT NULL)"
            " ON COMMIT DROP")
_UPSERT = """
WITH src AS (
    SELECT DISTINCT ON (phone_number) phone_number, display_name,
           CASE WHEN tags = '' THEN '{}'::text[] ELSE string_to_array(tags, ' ') END AS tags
    FROM contact_import ORDER BY phone_number, line DESC
), up AS (
    INSERT INTO contacts AS c (id, tenant_id, phone_number, display_name, tags)
    SELECT gen_random_uuid(), $1, phone_number, display_name, tags FROM src
    ON CONFLICT (tenant_id, phone_number) DO UPDATE SET
        display_name = CASE WHEN $2 THEN EXCLUDED.display_name ELSE c.display_name END,
        tags = CASE WHEN $3 THEN EXCLUDED.tags ELSE c.tags END
    WHERE ($2 AND c.display_name IS DISTINCT FROM EXCLUDED.display_name)
       OR ($3 AND c.tags IS DISTINCT FROM EXCLUDED.tags)
    RETURNING (xmax = 0) AS created
)
SELECT (SELECT count(*) FROM src) AS distinct_rows,
       count(*) FILTER (WHERE created) AS created,
       count(*) FILTER (WHERE NOT created) AS updated
FROM up"""
IMPORT_TIMEOUT_S = 600.0


async def _lock_count(conn: asyncpg.Connection, tenant: uuid.UUID) -> int:
    """The tenant's contact count, row-locked until commit (serialising its contact writes);
    created from a count of its contacts on the tenant's first write."""
    locked = "SELECT contacts FROM contact_counts WHERE tenant_id = $1 FOR UPDATE"
    count = await conn.fetchval(locked, tenant)
    if count is None:  # counting the contacts only once, not on every write
        await conn.execute("INSERT INTO contact_counts (tenant_id, contacts)"
                           " SELECT $1, count(*) FROM contacts ON CONFLICT (tenant_id) DO NOTHING",
                           tenant)
        count = await conn.fetchval(locked, tenant)
    assert count is not None
    return int(count)


async def _set_count(conn: asyncpg.Connection, tenant: uuid.UUID, count: int) -> None:
    await conn.execute("UPDATE contact_counts SET contacts = $2 WHERE tenant_id = $1",
                       tenant, count)


class PostgresContactRepository:
    def __init__(self, pool: asyncpg.Pool, tenant_id: uuid.UUID):
        self._pool, self._tenant = pool, tenant_id

    async def add(self, contact: Contact, request_id: uuid.UUID | None,
                  max_contacts: int) -> Contact:
        async with tenant_transaction(self._pool, self._tenant) as conn:
            # Lock first: a concurrent retry with the same request_id then waits for this one
            # and finds its contact below instead of colliding with it.
            count = await _lock_count(conn, self._tenant)
            if request_id is not None:
                row = await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM contacts WHERE request_id = $1", request_id)
                if row is not None:
                    return _contact(row)
            check_contact_limit(count + 1, max_contacts)
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO contacts (id, tenant_id, phone_number, display_name, tags,"
                    f" request_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
                    contact.id, contact.tenant_id, contact.phone_number, contact.display_name,
                    contact.tags, request_id)
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == "contacts_tenant_id_request_id_key":
                    raise AlreadyExists("REQUEST_IN_PROGRESS",
                                        "a request with this request_id is in progress") from None
                raise AlreadyExists("CONTACT_EXISTS", "a contact with this phone number exists",
                                    {"phone_number": contact.phone_number}) from None
            await _set_count(conn, self._tenant, count + 1)
        assert row is not None
        return _contact(row)

    async def import_staged(self, staged: IO[bytes], *, replace_display_name: bool,
                            replace_tags: bool, max_contacts: int) -> ImportCounts:
        async with tenant_transaction(self._pool, self._tenant) as conn:
            await conn.execute(_STAGING)
            await conn.copy_to_table(
                "contact_import", source=staged, format="csv",
                columns=["line", "phone_number", "display_name", "tags"],
                force_not_null=["display_name", "tags"], timeout=IMPORT_TIMEOUT_S)
            count = await _lock_count(conn, self._tenant)
            row = await conn.fetchrow(_UPSERT, self._tenant, replace_display_name, replace_tags,
                                      timeout=IMPORT_TIMEOUT_S)
            assert row is not None
            total = count + row["created"]
            check_contact_limit(total, max_contacts)
            await _set_count(conn, self._tenant, total)
        return ImportCounts(distinct=row["distinct_rows"], created=row["created"],
                            updated=row["updated"], total_contacts=total)

    async def get(self, contact_id: uuid.UUID) -> Contact | None:
        async with tenant_transaction(self._pool, self._tenant, readonly=True) as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM contacts WHERE id = $1",
                                      contact_id)
        return _contact(row) if row else None

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Contact]:
        async with tenant_transaction(self._pool, self._tenant, readonly=True) as conn:
            if after is None:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM contacts ORDER BY created_at DESC, id DESC"
                    " LIMIT $1", limit)
            else:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM contacts WHERE (created_at, id) < ($2, $3)"
                    " ORDER BY created_at DESC, id DESC LIMIT $1",
                    limit, *after)
        return [_contact(r) for r in rows]
