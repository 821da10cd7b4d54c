"""ImportContacts (client-streaming CSV) and the plan's contact limit, on a real gRPC server
against real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator

import asyncpg
import grpc
import pytest
from google.api import httpbody_pb2
from tucano.campaigns.v1 import contacts_pb2, contacts_pb2_grpc
from tucano_kit.postgres import tenant_transaction
from tucano_kit.testing import StaticTenantGate, TokenFactory, expect_failure

pytestmark = pytest.mark.integration

Stub = contacts_pb2_grpc.ContactsServiceStub


def body(data: str | bytes, chunk: int = 64 * 1024) -> Iterator[httpbody_pb2.HttpBody]:
    raw = data.encode() if isinstance(data, str) else data
    for start in range(0, max(len(raw), 1), chunk):
        yield httpbody_pb2.HttpBody(content_type="text/csv", data=raw[start:start + chunk])


def numbers(count: int, base: int = 0) -> list[str]:
    return [f"+1650555{base + i:04d}" for i in range(count)]


async def all_contacts(stub: Stub, md: tuple[tuple[str, str], ...]
                       ) -> dict[str, contacts_pb2.Contact]:
    found: dict[str, contacts_pb2.Contact] = {}
    token = ""
    while True:
        page = await stub.ListContacts(contacts_pb2.ListContactsRequest(
            page_size=1000, page_token=token), metadata=md)
        found.update({c.phone_number: c for c in page.contacts})
        if not (token := page.next_page_token):
            return found


def owner(tokens: TokenFactory) -> tuple[str, tuple[tuple[str, str], ...]]:
    tenant = str(uuid.uuid4())
    return tenant, tokens.metadata(tenant_id=tenant, role="operator")


async def test_an_import_creates_then_updates_and_is_idempotent(
        contacts_stub: Stub, tokens: TokenFactory) -> None:
    _, md = owner(tokens)
    csv = 'phone_number,display_name,tags\n+5511987654321,"Ada, L",VIP;news\n' \
          "+5511987654322,Bob,\n+5511987654321,Ada,vip\n"
    first = await contacts_stub.ImportContacts(body(csv, chunk=5), metadata=md)
    assert (first.rows, first.created, first.updated, first.unchanged, first.duplicates,
            first.total_contacts) == (3, 2, 0, 0, 1, 2)
    found = await all_contacts(contacts_stub, md)
    assert (found["+5511987654321"].display_name, list(found["+5511987654321"].tags)) == \
        ("Ada", ["vip"])  # the last row of a repeated number wins
    again = await contacts_stub.ImportContacts(body(csv), metadata=md)
    assert (again.created, again.updated, again.unchanged, again.total_contacts) == (0, 0, 2, 2)
    renamed = await contacts_stub.ImportContacts(
        body("phone,name\n+5511987654322,Robert\n+5511987654323,Cy\n"), metadata=md)
    assert (renamed.created, renamed.updated, renamed.total_contacts) == (1, 1, 3)
    found = await all_contacts(contacts_stub, md)
    assert found["+5511987654321"].display_name == "Ada"  # not in that file: untouched
    assert list(found["+5511987654321"].tags) == ["vip"]
    assert found["+5511987654322"].display_name == "Robert"


async def test_a_file_with_a_bad_row_is_refused_with_its_lines_and_imports_nothing(
        contacts_stub: Stub, tokens: TokenFactory) -> None:
    _, md = owner(tokens)
    csv = "phone,name\n+5511987654321,Ada\n123,Bob\n+5511987654322,Cy\x00\n"
    failure = await expect_failure(contacts_stub.ImportContacts(body(csv), metadata=md))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.field_violations) == {"line[3].phone_number", "line[4].display_name"}
    assert "nothing was imported" in failure.message
    assert await all_contacts(contacts_stub, md) == {}
    failure = await expect_failure(contacts_stub.ImportContacts(
        body(b"phone\n\xff\xfe\n"), metadata=md))
    assert (failure.code, list(failure.field_violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT, ["body"])
    failure = await expect_failure(contacts_stub.ImportContacts(body(""), metadata=md))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "is empty" in failure.field_violations["body"]


async def test_numbers_without_a_country_code_use_the_tenants_default_country(
        contacts_stub: Stub, tokens: TokenFactory, tenant_gate: StaticTenantGate) -> None:
    tenant, md = owner(tokens)
    tenant_gate.standings[tenant] = dataclasses.replace(tenant_gate.default,
                                                        default_country="BR")
    await contacts_stub.ImportContacts(body("phone\n(11) 98765-4321\n"), metadata=md)
    created = await contacts_stub.CreateContact(contacts_pb2.CreateContactRequest(
        contact=contacts_pb2.Contact(phone_number="11 98765-4322")), metadata=md)
    assert created.contact.phone_number == "+5511987654322"
    assert set(await all_contacts(contacts_stub, md)) == {"+5511987654321", "+5511987654322"}


async def test_the_plans_contact_limit_holds_for_imports_and_creates(
        contacts_stub: Stub, tokens: TokenFactory, tenant_gate: StaticTenantGate) -> None:
    tenant, md = owner(tokens)
    tenant_gate.standings[tenant] = dataclasses.replace(tenant_gate.default, max_contacts=5)
    three = "phone\n" + "\n".join(numbers(3)) + "\n"
    assert (await contacts_stub.ImportContacts(body(three), metadata=md)).total_contacts == 3
    four_more = "phone\n" + "\n".join(numbers(4, base=100)) + "\n"
    failure = await expect_failure(contacts_stub.ImportContacts(body(four_more), metadata=md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "CONTACT_LIMIT_REACHED")
    assert len(await all_contacts(contacts_stub, md)) == 3
    # Re-importing known numbers adds nobody, so it fits.
    assert (await contacts_stub.ImportContacts(body(three), metadata=md)).unchanged == 3
    for phone in numbers(2, base=200):
        await contacts_stub.CreateContact(contacts_pb2.CreateContactRequest(
            contact=contacts_pb2.Contact(phone_number=phone)), metadata=md)
    failure = await expect_failure(contacts_stub.CreateContact(contacts_pb2.CreateContactRequest(
        contact=contacts_pb2.Contact(phone_number="+16505559999")), metadata=md))
    assert failure.reason == "CONTACT_LIMIT_REACHED"
    assert len(await all_contacts(contacts_stub, md)) == 5


async def test_concurrent_imports_never_exceed_the_limit(
        contacts_stub: Stub, tokens: TokenFactory, tenant_gate: StaticTenantGate) -> None:
    tenant, md = owner(tokens)
    tenant_gate.standings[tenant] = dataclasses.replace(tenant_gate.default, max_contacts=50)
    files = ["phone\n" + "\n".join(numbers(10, base=i * 10)) + "\n" for i in range(10)]
    results = await asyncio.gather(
        *(contacts_stub.ImportContacts(body(f), metadata=md) for f in files),
        return_exceptions=True)
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(refused) == 5 and all(
        r.code() == grpc.StatusCode.FAILED_PRECONDITION for r in refused)
    assert len(await all_contacts(contacts_stub, md)) == 50


async def test_the_count_is_rebuilt_from_the_contacts_when_it_has_no_row(
        contacts_stub: Stub, tokens: TokenFactory, campaigns_dsn: str,
        tenant_gate: StaticTenantGate) -> None:
    tenant, md = owner(tokens)
    tenant_gate.standings[tenant] = dataclasses.replace(tenant_gate.default, max_contacts=3)
    await contacts_stub.ImportContacts(body("phone\n" + "\n".join(numbers(3)) + "\n"),
                                       metadata=md)
    pool = await asyncpg.create_pool(campaigns_dsn, min_size=1, max_size=1)
    assert pool is not None
    try:  # as for a tenant whose contacts predate the counts table
        async with tenant_transaction(pool, tenant) as conn:
            assert await conn.execute("DELETE FROM contact_counts") == "DELETE 1"
    finally:
        await pool.close()
    failure = await expect_failure(contacts_stub.CreateContact(contacts_pb2.CreateContactRequest(
        contact=contacts_pb2.Contact(phone_number="+16505559998")), metadata=md))
    assert failure.reason == "CONTACT_LIMIT_REACHED"


async def test_tenants_import_the_same_numbers_apart(contacts_stub: Stub,
                                                     tokens: TokenFactory) -> None:
    (_, a), (_, b) = owner(tokens), owner(tokens)
    csv = "phone,name\n+5511987654321,Ada\n"
    await contacts_stub.ImportContacts(body(csv), metadata=a)
    other = await contacts_stub.ImportContacts(body(csv.replace("Ada", "Eve")), metadata=b)
    assert other.created == 1
    assert (await all_contacts(contacts_stub, a))["+5511987654321"].display_name == "Ada"


async def test_a_suspended_tenant_cannot_import_and_a_viewer_may_not(
        contacts_stub: Stub, tokens: TokenFactory, tenant_gate: StaticTenantGate) -> None:
    tenant, md = owner(tokens)
    failure = await expect_failure(contacts_stub.ImportContacts(
        body("phone\n+5511987654321\n"), metadata=tokens.metadata(tenant_id=tenant,
                                                                  role="viewer")))
    assert failure.reason == "ROLE_TOO_LOW"
    tenant_gate.states[tenant] = "suspended"
    failure = await expect_failure(contacts_stub.ImportContacts(
        body("phone\n+5511987654321\n"), metadata=md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "TENANT_SUSPENDED")
    assert await all_contacts(contacts_stub, md) == {}


async def test_a_large_file_in_many_chunks(contacts_stub: Stub, tokens: TokenFactory) -> None:
    _, md = owner(tokens)
    rows = [f"+1415{7000000 + i},Person {i},t{i % 7}" for i in range(20_000)]
    csv = "phone,name,tags\n" + "\n".join(rows) + "\n"
    result = await contacts_stub.ImportContacts(body(csv, chunk=16 * 1024), metadata=md)
    assert (result.rows, result.created, result.total_contacts) == (20_000, 20_000, 20_000)
