"""ContactsService: parse and validate the request (one place), call the handler, map."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import grpc
from google.api import httpbody_pb2
from tucano.campaigns.v1 import contacts_pb2, contacts_pb2_grpc
from tucano_kit import paging
from tucano_kit.auth import TenantStanding, current_caller, current_standing
from tucano_kit.validation import Violations

from tucano_campaigns.application import contacts
from tucano_campaigns.application.ports import ContactRepository
from tucano_campaigns.domain.contacts import (
    Contact,
    InvalidPhoneNumber,
    normalize_display_name,
    normalize_phone,
    normalize_tags,
)

RepositoryFactory = Callable[[uuid.UUID], ContactRepository]


def contact_to_proto(contact: Contact) -> contacts_pb2.Contact:
    message = contacts_pb2.Contact(
        contact_id=str(contact.id), phone_number=contact.phone_number,
        display_name=contact.display_name, tags=contact.tags)
    if contact.created_at is not None:
        message.create_time.FromDatetime(contact.created_at)
    return message


def parse_create(request: contacts_pb2.CreateContactRequest, tenant_id: uuid.UUID,
                 standing: TenantStanding) -> contacts.CreateContact:
    with Violations() as v:
        if not request.HasField("contact"):
            v.add("contact", "is required")
        raw = request.contact
        phone = ""
        if v.check(bool(raw.phone_number.strip()), "contact.phone_number", "is required"):
            try:
                phone = normalize_phone(raw.phone_number, standing.default_country or None)
            except InvalidPhoneNumber as exc:
                v.add("contact.phone_number", f"{exc}; use E.164, e.g. +5511987654321")
        name = ""
        try:
            name = normalize_display_name(raw.display_name)
        except ValueError as exc:
            v.add("contact.display_name", str(exc))
        tags: list[str] = []
        try:
            tags = normalize_tags(list(raw.tags))
        except ValueError as exc:
            v.add("contact.tags", str(exc))
        request_id = v.uuid(request.request_id, "request_id", required=False)
    return contacts.CreateContact(tenant_id=tenant_id, phone_number=phone, display_name=name,
                                  tags=tags, request_id=request_id,
                                  max_contacts=standing.max_contacts)


def _tenant() -> uuid.UUID:
    return uuid.UUID(current_caller().require_tenant())


class ContactsServicer(contacts_pb2_grpc.ContactsServiceServicer):
    def __init__(self, repositories: RepositoryFactory, import_max_rows: int):
        self._repositories = repositories
        self._import_max_rows = import_max_rows

    async def CreateContact(self, request: contacts_pb2.CreateContactRequest,
                            context: grpc.aio.ServicerContext
                            ) -> contacts_pb2.CreateContactResponse:
        tenant = _tenant()
        command = parse_create(request, tenant, current_standing())
        contact = await contacts.create_contact(command, self._repositories(tenant))
        return contacts_pb2.CreateContactResponse(contact=contact_to_proto(contact))

    async def GetContact(self, request: contacts_pb2.GetContactRequest,
                         context: grpc.aio.ServicerContext) -> contacts_pb2.GetContactResponse:
        tenant = _tenant()
        with Violations() as v:
            contact_id = v.uuid(request.contact_id, "contact_id")
        assert contact_id is not None
        contact = await contacts.get_contact(contact_id, self._repositories(tenant))
        return contacts_pb2.GetContactResponse(contact=contact_to_proto(contact))

    async def ListContacts(self, request: contacts_pb2.ListContactsRequest,
                           context: grpc.aio.ServicerContext
                           ) -> contacts_pb2.ListContactsResponse:
        tenant = _tenant()
        size = paging.page_size(request.page_size)
        after = paging.decode_after("contacts", request.page_token)
        found = await self._repositories(tenant).list(size + 1, after)
        page, more = found[:size], len(found) > size
        token = ""
        if more and page[-1].created_at is not None:
            token = paging.encode_after("contacts", page[-1].created_at, page[-1].id)
        return contacts_pb2.ListContactsResponse(
            contacts=[contact_to_proto(c) for c in page], next_page_token=token)

    async def ImportContacts(self, request_iterator: AsyncIterator[httpbody_pb2.HttpBody],
                             context: grpc.aio.ServicerContext
                             ) -> contacts_pb2.ImportContactsResponse:
        tenant = _tenant()
        standing = current_standing()
        command = contacts.ImportContacts(
            default_country=standing.default_country or None,
            max_contacts=standing.max_contacts, max_rows=self._import_max_rows)

        async def chunks() -> AsyncIterator[bytes]:
            async for body in request_iterator:
                yield body.data

        result = await contacts.import_contacts(command, chunks(), self._repositories(tenant))
        return contacts_pb2.ImportContactsResponse(
            rows=result.rows, created=result.created, updated=result.updated,
            unchanged=result.unchanged, duplicates=result.duplicates,
            total_contacts=result.total_contacts)
