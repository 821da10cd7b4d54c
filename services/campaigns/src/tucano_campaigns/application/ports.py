"""Ports of the campaigns application layer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from tucano_campaigns.domain.contacts import Contact


class ContactRepository(Protocol):
    """Contacts of one tenant (the repository is bound to the tenant)."""

    async def add(self, contact: Contact, request_id: uuid.UUID | None) -> Contact:
        """Store `contact`; for a request_id seen before, return the contact it created.
        Raises AlreadyExists when the phone number is taken in this tenant."""
        ...

    async def get(self, contact_id: uuid.UUID) -> Contact | None: ...

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None
                   ) -> list[Contact]:
        """Newest first; `after` is the (created_at, id) of the previous page's last."""
        ...
