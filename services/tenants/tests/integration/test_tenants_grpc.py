"""TenantsService internal RPCs (called by auth) on a real server and database."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.testing import TokenFactory, expect_failure

pytestmark = pytest.mark.integration

Stub = tenants_pb2_grpc.TenantsServiceStub
Md = tuple[tuple[str, str], ...]


def create(owner: uuid.UUID, request_id: uuid.UUID | None = None,
           name: str = "Acme Ltda") -> tenants_pb2.CreateTenantRequest:
    return tenants_pb2.CreateTenantRequest(name=name, owner_user_id=str(owner),
                                           request_id=str(request_id or uuid.uuid4()))


async def test_the_plan_catalogue_is_public(tenants_stub: Stub) -> None:
    plans = (await tenants_stub.ListPlans(tenants_pb2.ListPlansRequest())).plans
    assert [p.id for p in plans] == ["free", "starter", "growth", "business"]


async def test_create_makes_the_owner_a_member_and_is_idempotent(tenants_stub: Stub,
                                                                 service_md: Md) -> None:
    owner, rid = uuid.uuid4(), uuid.uuid4()
    first, again = await asyncio.gather(
        tenants_stub.CreateTenant(create(owner, rid), metadata=service_md),
        tenants_stub.CreateTenant(create(owner, rid), metadata=service_md))
    assert first.tenant.tenant_id == again.tenant.tenant_id
    assert first.tenant.state == tenants_pb2.TENANT_STATE_ACTIVE
    member = await tenants_stub.GetMembership(tenants_pb2.GetMembershipRequest(
        tenant_id=first.tenant.tenant_id, user_id=str(owner)), metadata=service_md)
    assert (member.membership.role, member.membership.tenant_name) == ("owner", "Acme Ltda")
    listed = await tenants_stub.ListUserMemberships(
        tenants_pb2.ListUserMembershipsRequest(user_id=str(owner)), metadata=service_md)
    assert [m.tenant_id for m in listed.memberships] == [first.tenant.tenant_id]


async def test_memberships_of_one_user_never_show_another_users(tenants_stub: Stub,
                                                                service_md: Md) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    mine = await tenants_stub.CreateTenant(create(alice), metadata=service_md)
    await tenants_stub.CreateTenant(create(bob), metadata=service_md)
    failure = await expect_failure(tenants_stub.GetMembership(tenants_pb2.GetMembershipRequest(
        tenant_id=mine.tenant.tenant_id, user_id=str(bob)), metadata=service_md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.NOT_FOUND, "MEMBERSHIP_NOT_FOUND")
    listed = await tenants_stub.ListUserMemberships(
        tenants_pb2.ListUserMembershipsRequest(user_id=str(bob)), metadata=service_md)
    assert mine.tenant.tenant_id not in {m.tenant_id for m in listed.memberships}


async def test_a_fresh_tenant_can_be_abandoned_by_its_owner_only(tenants_stub: Stub,
                                                                 service_md: Md) -> None:
    owner = uuid.uuid4()
    created = await tenants_stub.CreateTenant(create(owner), metadata=service_md)
    tid = created.tenant.tenant_id
    failure = await expect_failure(tenants_stub.AbandonTenant(tenants_pb2.AbandonTenantRequest(
        tenant_id=tid, owner_user_id=str(uuid.uuid4())), metadata=service_md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "TENANT_NOT_ABANDONABLE")
    await tenants_stub.AbandonTenant(tenants_pb2.AbandonTenantRequest(
        tenant_id=tid, owner_user_id=str(owner)), metadata=service_md)
    listed = await tenants_stub.ListUserMemberships(
        tenants_pb2.ListUserMembershipsRequest(user_id=str(owner)), metadata=service_md)
    assert list(listed.memberships) == []


@pytest.mark.parametrize("rpc", ["CreateTenant", "AbandonTenant", "GetMembership",
                                 "ListUserMemberships"])
async def test_internal_rpcs_refuse_user_tokens_even_an_owners(
        tenants_stub: Stub, tokens: TokenFactory, rpc: str) -> None:
    request = getattr(tenants_pb2, f"{rpc}Request")()
    failure = await expect_failure(getattr(tenants_stub, rpc)(
        request, metadata=tokens.metadata(tenant_id=str(uuid.uuid4()), role="owner")))
    assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED, "SERVICE_ONLY")


async def test_bad_ids_and_names_are_invalid_arguments(tenants_stub: Stub,
                                                       service_md: Md) -> None:
    failure = await expect_failure(tenants_stub.CreateTenant(tenants_pb2.CreateTenantRequest(
        name="x" * 121, owner_user_id="nope", request_id=""), metadata=service_md))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.field_violations) == {"name", "owner_user_id", "request_id"}
