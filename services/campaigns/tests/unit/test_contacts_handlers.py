"""Handlers with a fake repository that implements the port."""

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO

import pytest
from tucano_campaigns.application import contacts as app
from tucano_campaigns.application.contacts import CreateContact, create_contact, get_contact
from tucano_campaigns.application.ports import ImportCounts
from tucano_campaigns.domain.contacts import Contact, check_contact_limit
from tucano_kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

TENANT = uuid.UUID(int=1)


class FakeContacts:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Contact] = {}
        self.by_request: dict[uuid.UUID, uuid.UUID] = {}
        self.staged: list[list[str]] | None = None
        self.replaced: tuple[bool, bool] | None = None

    async def add(self, contact: Contact, request_id: uuid.UUID | None,
                  max_contacts: int) -> Contact:
        if request_id in self.by_request:
            return self.rows[self.by_request[request_id]]
        if any(c.phone_number == contact.phone_number for c in self.rows.values()):
            raise AlreadyExists("CONTACT_EXISTS", "exists")
        check_contact_limit(len(self.rows) + 1, max_contacts)
        self.rows[contact.id] = contact
        if request_id:
            self.by_request[request_id] = contact.id
        return contact

    async def import_staged(self, staged: IO[bytes], *, replace_display_name: bool,
                            replace_tags: bool, max_contacts: int) -> ImportCounts:
        self.staged = list(csv.reader(io.StringIO(staged.read().decode())))
        self.replaced = (replace_display_name, replace_tags)
        distinct = len({row[1] for row in self.staged})
        return ImportCounts(distinct=distinct, created=distinct - 1, updated=0,
                            total_contacts=distinct + 10)

    async def get(self, contact_id: uuid.UUID) -> Contact | None:
        return self.rows.get(contact_id)

    async def list(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Contact]:
        return list(self.rows.values())[:limit]


def command(phone: str = "+5511987654321", request_id: uuid.UUID | None = None,
            max_contacts: int = 1000) -> CreateContact:
    return CreateContact(tenant_id=TENANT, phone_number=phone, display_name="Ada",
                         tags=["vip"], request_id=request_id, max_contacts=max_contacts)


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


async def test_a_create_beyond_the_plans_contacts_is_refused() -> None:
    repo = FakeContacts()
    await create_contact(command(max_contacts=1), repo)
    with pytest.raises(FailedPrecondition) as err:
        await create_contact(command(phone="+5511987654322", max_contacts=1), repo)
    assert err.value.reason == "CONTACT_LIMIT_REACHED"
    assert err.value.metadata == {"max_contacts": "1", "contacts_after": "2"}


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


IMPORT = app.ImportContacts(default_country="BR", max_contacts=100, max_rows=1000)


@pytest.mark.parametrize("chunk", [1, 7, 4096])
async def test_an_import_stages_normalised_rows_whatever_the_chunking(chunk: int) -> None:
    repo = FakeContacts()
    data = (b'phone_number,name,tags\n+5511987654321,"Ada, Lovelace",VIP;news\n'
            b'(11) 98765-4322,Bob,\n+5511987654321,Ada L,\n')
    result = await app.import_contacts(IMPORT, chunks_of(data, chunk), repo)
    assert repo.staged == [["2", "+5511987654321", "Ada, Lovelace", "vip news"],
                           ["3", "+5511987654322", "Bob", ""],
                           ["4", "+5511987654321", "Ada L", ""]]
    assert repo.replaced == (True, True)
    assert (result.rows, result.duplicates, result.created, result.unchanged,
            result.total_contacts) == (3, 1, 1, 1, 12)


async def test_an_import_with_a_bad_row_never_reaches_the_repository() -> None:
    repo = FakeContacts()
    data = b"phone\n+5511987654321\nnot a number\n"
    with pytest.raises(InvalidArgument) as err:
        await app.import_contacts(IMPORT, chunks_of(data, 5), repo)
    assert [v.field for v in err.value.violations] == ["line[3].phone_number"]
    assert "1 of 2 rows are invalid" in err.value.message
    assert repo.staged is None
