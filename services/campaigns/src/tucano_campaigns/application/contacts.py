"""Contact commands and queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tucano_kit.errors import NotFound

from tucano_campaigns.application.ports import ContactRepository
from tucano_campaigns.domain.contacts import Contact


@dataclass(frozen=True)
class CreateContact:
    tenant_id: uuid.UUID
    phone_number: str  # already E.164
    display_name: str
    tags: list[str]
    request_id: uuid.UUID | None


async def create_contact(cmd: CreateContact, contacts: ContactRepository) -> Contact:
    contact = Contact(tenant_id=cmd.tenant_id, phone_number=cmd.phone_number,
                      display_name=cmd.display_name, tags=cmd.tags)
    return await contacts.add(contact, cmd.request_id)


async def get_contact(contact_id: uuid.UUID, contacts: ContactRepository) -> Contact:
    contact = await contacts.get(contact_id)
    if contact is None:
        raise NotFound("CONTACT_NOT_FOUND", "contact not found", {"contact_id": str(contact_id)})
    return contact
