"""Contact commands and queries."""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import IO

from tucano_kit.errors import NotFound

from tucano_campaigns.application.ports import ContactRepository
from tucano_campaigns.domain.contact_import import ContactCsvParser, ImportRow
from tucano_campaigns.domain.contacts import Contact

SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class CreateContact:
    tenant_id: uuid.UUID
    phone_number: str  # already E.164
    display_name: str
    tags: list[str]
    request_id: uuid.UUID | None
    max_contacts: int  # the tenant's plan limit


async def create_contact(cmd: CreateContact, contacts: ContactRepository) -> Contact:
    contact = Contact(tenant_id=cmd.tenant_id, phone_number=cmd.phone_number,
                      display_name=cmd.display_name, tags=cmd.tags)
    return await contacts.add(contact, cmd.request_id, cmd.max_contacts)


@dataclass(frozen=True)
class ImportContacts:
    default_country: str | None  # for numbers written without a country code
    max_contacts: int  # the tenant's plan limit
    max_rows: int


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    updated: int
    unchanged: int
    duplicates: int
    total_contacts: int


def _stage(rows: Iterable[ImportRow], spool: IO[bytes]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows((r.line, r.phone_number, r.display_name, " ".join(r.tags)) for r in rows)
    spool.write(buffer.getvalue().encode())


async def import_contacts(cmd: ImportContacts, chunks: AsyncIterable[bytes],
                          contacts: ContactRepository) -> ImportResult:
    """Parse and validate the whole file while it arrives, spooling the good rows (memory, then
    disk past SPOOL_IN_MEMORY_BYTES); only a fully valid file reaches the database, in one
    transaction, so a slow upload never holds a connection and a bad file changes nothing."""
    parser = ContactCsvParser(default_region=cmd.default_country, max_rows=cmd.max_rows)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES, mode="w+b") as spool:
        async for chunk in chunks:
            _stage(parser.feed(chunk), spool)
        _stage(parser.finish(), spool)
        rejection = parser.rejection()
        if rejection is not None:
            raise rejection
        assert parser.header is not None
        spool.seek(0)
        counts = await contacts.import_staged(
            spool, replace_display_name=parser.header.has_display_name,
            replace_tags=parser.header.has_tags, max_contacts=cmd.max_contacts)
    return ImportResult(rows=parser.rows, created=counts.created, updated=counts.updated,
                        unchanged=counts.distinct - counts.created - counts.updated,
                        duplicates=parser.rows - counts.distinct,
                        total_contacts=counts.total_contacts)


async def get_contact(contact_id: uuid.UUID, contacts: ContactRepository) -> Contact:
    contact = await contacts.get(contact_id)
    if contact is None:
        raise NotFound("CONTACT_NOT_FOUND", "contact not found", {"contact_id": str(contact_id)})
    return contact
