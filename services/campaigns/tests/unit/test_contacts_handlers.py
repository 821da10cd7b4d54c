"""Handlers with a fake repository that implements the port."""

import uuid
from datetime import datetime

import pytest
from tucano_campaigns.application.contacts import CreateContact, create_contact, get_contact
from tucano_campaigns.domain.contacts import Contact
from tucano_kit.errors import AlreadyExists, NotFound

TENANT = uuid.UUID(int=1)


class FakeContacts:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Contact] = {}
        self.by_request: dict[uuid.UUID, uuid.UUID] = {}

    async def add(self, contact: Contact, request_id: uuid.UUID | None) -> Contact:
        if request_id in self.by_request:
            return self.rows[self.by_request[request_id]]
        if any(c.phone_number == contact.phone_number for c in self.rows.values()):
            raise AlreadyExists("CONTACT_EXISTS", "exists")
        self.rows[contact.id] = contact
        if request_id:
            self.by_request[request_id] = contact.id
        return contact

    async def get(self, contact_id: uuid.UUID) -> Contact | None:
        return self.rows.get(contact_id)

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Contact]:
        return list(self.rows.values())[:limit]


def command(phone: str = "+5511987654321", request_id: uuid.UUID | None = None) -> CreateContact:
    return CreateContact(tenant_id=TENANT, phone_number=phone, display_name="Ada",
                         tags=["vip"], request_id=request_id)


async def test_creating_a_contact_stores_it_for_the_tenant() -> None:
    repo = FakeContacts()
    contact = await create_contact(command(), repo)
    assert repo.rows[contact.id].tenant_id == TENANT
    assert contact.tags == ["vip"]


async def test_a_retried_create_with_the_same_request_id_returns_the_first_contact() -> None:
    repo, rid = FakeContacts(), uuid.uuid4()
    first = await create_contact(command(request_id=rid), repo)
    again = await create_contact(command(request_id=rid), repo)
    assert again.id == first.id and len(repo.rows) == 1


async def test_getting_an_unknown_contact_is_not_found() -> None:
    with pytest.raises(NotFound) as err:
        await get_contact(uuid.uuid4(), FakeContacts())
    assert err.value.reason == "CONTACT_NOT_FOUND"
