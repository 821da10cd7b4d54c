"""ContactsService on a real gRPC server built by bootstrap, against real PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from tucano.campaigns.v1 import contacts_pb2, contacts_pb2_grpc
from tucano_kit import paging
from tucano_kit.testing import StaticTenantGate, TokenFactory, expect_failure

pytestmark = pytest.mark.integration

Stub = contacts_pb2_grpc.ContactsServiceStub


def new_tenant() -> str:
    return str(uuid.uuid4())


def create(phone: str, **kwargs: object) -> contacts_pb2.CreateContactRequest:
    return contacts_pb2.CreateContactRequest(
        contact=contacts_pb2.Contact(phone_number=phone, display_name="Ada", tags=["VIP"]),
        **kwargs)  # type: ignore[arg-type]


async def test_an_operator_creates_and_reads_back_a_contact(contacts_stub: Stub,
                                                            tokens: TokenFactory) -> None:
    tenant = new_tenant()
    md = tokens.metadata(tenant_id=tenant, role="operator")
    created = await contacts_stub.CreateContact(create("+55 11 98765-4321"), metadata=md)
    assert created.contact.phone_number == "+5511987654321"
    assert list(created.contact.tags) == ["vip"]
    got = await contacts_stub.GetContact(
        contacts_pb2.GetContactRequest(contact_id=created.contact.contact_id), metadata=md)
    assert got.contact == created.contact


async def test_a_viewer_cannot_create_but_can_read(contacts_stub: Stub,
                                                   tokens: TokenFactory) -> None:
    tenant = new_tenant()
    failure = await expect_failure(contacts_stub.CreateContact(
        create("+5511987654322"), metadata=tokens.metadata(tenant_id=tenant, role="viewer")))
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert failure.reason == "ROLE_TOO_LOW"
    listed = await contacts_stub.ListContacts(
        contacts_pb2.ListContactsRequest(),
        metadata=tokens.metadata(tenant_id=tenant, role="viewer"))
    assert list(listed.contacts) == []


async def test_no_token_or_a_bad_token_is_unauthenticated(contacts_stub: Stub,
                                                          tokens: TokenFactory) -> None:
    failure = await expect_failure(contacts_stub.ListContacts(contacts_pb2.ListContactsRequest()))
    assert failure.code == grpc.StatusCode.UNAUTHENTICATED
    expired = tokens.token(tenant_id=new_tenant(), ttl_s=-120)
    failure = await expect_failure(contacts_stub.ListContacts(
        contacts_pb2.ListContactsRequest(), metadata=(("authorization", f"Bearer {expired}"),)))
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")


async def test_bad_input_is_invalid_argument_with_every_field_and_writes_nothing(
        contacts_stub: Stub, tokens: TokenFactory) -> None:
    tenant = new_tenant()
    md = tokens.metadata(tenant_id=tenant, role="owner")
    request = contacts_pb2.CreateContactRequest(
        contact=contacts_pb2.Contact(phone_number="12", display_name="x" * 300,
                                     tags=["has space"]),
        request_id="not-a-uuid")
    failure = await expect_failure(contacts_stub.CreateContact(request, metadata=md))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.field_violations) == {
        "contact.phone_number", "contact.display_name", "contact.tags", "request_id"}
    listed = await contacts_stub.ListContacts(contacts_pb2.ListContactsRequest(), metadata=md)
    assert list(listed.contacts) == []


async def test_a_duplicate_phone_number_already_exists_but_a_retry_is_idempotent(
        contacts_stub: Stub, tokens: TokenFactory) -> None:
    md = tokens.metadata(tenant_id=new_tenant(), role="operator")
    rid = str(uuid.uuid4())
    first = await contacts_stub.CreateContact(create("+16505550100", request_id=rid), metadata=md)
    retry = await contacts_stub.CreateContact(create("+16505550100", request_id=rid), metadata=md)
    assert retry.contact.contact_id == first.contact.contact_id
    failure = await expect_failure(contacts_stub.CreateContact(create("+16505550100"),
                                                               metadata=md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "CONTACT_EXISTS")


async def test_another_tenants_contact_is_not_found_and_the_same_number_is_free_there(
        contacts_stub: Stub, tokens: TokenFactory) -> None:
    a = tokens.metadata(tenant_id=new_tenant(), role="owner")
    b = tokens.metadata(tenant_id=new_tenant(), role="owner")
    mine = await contacts_stub.CreateContact(create("+16505550101"), metadata=a)
    failure = await expect_failure(contacts_stub.GetContact(
        contacts_pb2.GetContactRequest(contact_id=mine.contact.contact_id), metadata=b))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "CONTACT_NOT_FOUND")
    theirs = await contacts_stub.CreateContact(create("+16505550101"), metadata=b)
    assert theirs.contact.contact_id != mine.contact.contact_id


async def test_list_pages_through_every_contact_once(contacts_stub: Stub,
                                                     tokens: TokenFactory) -> None:
    md = tokens.metadata(tenant_id=new_tenant(), role="operator")
    created = {(await contacts_stub.CreateContact(create(f"+1650555{n:04d}"), metadata=md))
               .contact.contact_id for n in range(200, 207)}
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await contacts_stub.ListContacts(
            contacts_pb2.ListContactsRequest(page_size=3, page_token=token), metadata=md)
        seen += [c.contact_id for c in page.contacts]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(created) and len(seen) == len(created)
    for forged in ("garbage", paging.encode("contacts", ["not a time", "not a uuid"]),
                   paging.encode("channels", [])):
        failure = await expect_failure(contacts_stub.ListContacts(
            contacts_pb2.ListContactsRequest(page_token=forged), metadata=md))
        assert failure.field_violations.keys() == {"page_token"}


async def test_a_token_without_a_tenant_is_refused(contacts_stub: Stub,
                                                   tokens: TokenFactory) -> None:
    failure = await expect_failure(contacts_stub.ListContacts(
        contacts_pb2.ListContactsRequest(), metadata=tokens.metadata(role=None)))
    assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED,
                                              "TENANT_REQUIRED")


async def test_a_suspended_tenant_reads_but_cannot_write_and_a_closed_one_is_refused(
        contacts_stub: Stub, tokens: TokenFactory, tenant_gate: StaticTenantGate) -> None:
    tenant = new_tenant()
    md = tokens.metadata(tenant_id=tenant, role="owner")
    await contacts_stub.CreateContact(create("+16505550180"), metadata=md)
    tenant_gate.states[tenant] = "suspended"
    failure = await expect_failure(contacts_stub.CreateContact(create("+16505550181"),
                                                               metadata=md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "TENANT_SUSPENDED")
    listed = await contacts_stub.ListContacts(contacts_pb2.ListContactsRequest(), metadata=md)
    assert len(listed.contacts) == 1
    tenant_gate.states[tenant] = "closed"
    failure = await expect_failure(contacts_stub.ListContacts(contacts_pb2.ListContactsRequest(),
                                                              metadata=md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TENANT_CLOSED")
