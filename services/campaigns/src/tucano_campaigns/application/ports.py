"""Ports of the campaigns application layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Protocol

from tucano_campaigns.domain.contacts import Contact


@dataclass(frozen=True)
class ImportCounts:
    distinct: int  # different phone numbers in the file
    created: int
    updated: int
    total_contacts: int  # the tenant's contacts afterwards


class ContactRepository(Protocol):
    """Contacts of one tenant (the repository is bound to the tenant)."""

    async def add(self, contact: Contact, request_id: uuid.UUID | None,
                  max_contacts: int) -> Contact:
        """Store `contact`; for a request_id seen before, return the contact it created.
        Raises AlreadyExists when the phone number is taken in this tenant, and
        CONTACT_LIMIT_REACHED when the tenant would have more than `max_contacts`."""
        ...

    async def import_staged(self, staged: IO[bytes], *, replace_display_name: bool,
                            replace_tags: bool, max_contacts: int) -> ImportCounts:
        """Upsert, in one transaction, the validated rows in `staged`: CSV without header,
        columns line, E.164 phone number, display name, tags separated by spaces. For numbers
        repeated, the highest line wins. All or nothing; CONTACT_LIMIT_REACHED as in `add`."""
        ...

    async def get(self, contact_id: uuid.UUID) -> Contact | None: ...

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None
                   ) -> list[Contact]:
        """Newest first; `after` is the (created_at, id) of the previous page's last."""
        ...
