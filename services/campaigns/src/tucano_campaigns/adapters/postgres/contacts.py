"""Contacts in PostgreSQL, always inside a tenant transaction (row-level security)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from tucano_kit.errors import AlreadyExists
from tucano_kit.postgres import tenant_transaction

from tucano_campaigns.domain.contacts import Contact

_COLUMNS = "id, tenant_id, phone_number, display_name, tags, created_at"


def _contact(row: asyncpg.Record) -> Contact:
    return Contact(id=row["id"], tenant_id=row["tenant_id"], phone_number=row["phone_number"],
                   display_name=row["display_name"], tags=list(row["tags"]),
                   created_at=row["created_at"])


class PostgresContactRepository:
    def __init__(self, pool: asyncpg.Pool, tenant_id: uuid.UUID):
        self._pool, self._tenant = pool, tenant_id

    async def add(self, contact: Contact, request_id: uuid.UUID | None) -> Contact:
        async with tenant_transaction(self._pool, self._tenant) as conn:
            if request_id is not None:
                row = await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM contacts WHERE request_id = $1", request_id)
                if row is not None:
                    return _contact(row)
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
        assert row is not None
        return _contact(row)

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
