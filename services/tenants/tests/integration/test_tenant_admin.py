"""Tenant settings, lifecycle, plans, members and invitations on a real server and database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import grpc
import pytest
from google.protobuf import field_mask_pb2
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.testing import TokenFactory, expect_failure

pytestmark = pytest.mark.integration

Stub = tenants_pb2_grpc.TenantsServiceStub
Md = tuple[tuple[str, str], ...]


@dataclass
class Org:
    tenant_id: str
    owner: str
    tokens: TokenFactory

    def md(self, role: str = "owner", user: str | None = None, **claims: object) -> Md:
        return self.tokens.metadata(tenant_id=self.tenant_id, role=role,
                                    subject=user or self.owner, **claims)


@pytest.fixture
async def org(tenants_stub: Stub, service_md: Md, tokens: TokenFactory) -> Org:
    owner = str(uuid.uuid4())
    created = await tenants_stub.CreateTenant(tenants_pb2.CreateTenantRequest(
        name="Acme", owner_user_id=owner, request_id=str(uuid.uuid4())), metadata=service_md)
    return Org(created.tenant.tenant_id, owner, tokens)


async def invite_and_join(stub: Stub, org: Org, service_md: Md, email: str, role: str) -> str:
    invited = await stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
        invitation=tenants_pb2.Invitation(email=email, role=role)), metadata=org.md())
    user = str(uuid.uuid4())
    await stub.RedeemInvitation(tenants_pb2.RedeemInvitationRequest(
        token=invited.token, user_id=user, email=email), metadata=service_md)
    return user


async def test_the_owner_reads_and_updates_the_settings(tenants_stub: Stub, org: Org,
                                                        service_md: Md) -> None:
    got = await tenants_stub.GetTenant(tenants_pb2.GetTenantRequest(), metadata=org.md("viewer"))
    assert got.tenant.settings.name == "Acme" and got.tenant.limits.plan_id == "free"
    updated = await tenants_stub.UpdateTenant(tenants_pb2.UpdateTenantRequest(
        tenant=tenants_pb2.TenantSettings(name="Acme Brasil", default_country="br",
                                          timezone="America/Sao_Paulo",
                                          cors_origins=["https://app.acme.com.br"])),
        metadata=org.md())
    s = updated.tenant.settings
    assert (s.name, s.default_country, s.timezone, list(s.cors_origins)) == (
        "Acme Brasil", "BR", "America/Sao_Paulo", ["https://app.acme.com.br"])
    masked = await tenants_stub.UpdateTenant(tenants_pb2.UpdateTenantRequest(
        tenant=tenants_pb2.TenantSettings(name="ignored", timezone="UTC"),
        update_mask=field_mask_pb2.FieldMask(paths=["timezone"])), metadata=org.md())
    assert (masked.tenant.settings.name, masked.tenant.settings.timezone) == ("Acme Brasil", "UTC")
    standing = await tenants_stub.GetTenantStanding(tenants_pb2.GetTenantStandingRequest(
        tenant_id=org.tenant_id), metadata=service_md)
    assert (standing.default_country, standing.limits.max_contacts) == ("BR", 1000)


async def test_bad_settings_name_every_field_and_change_nothing(tenants_stub: Stub,
                                                                org: Org) -> None:
    failure = await expect_failure(tenants_stub.UpdateTenant(tenants_pb2.UpdateTenantRequest(
        tenant=tenants_pb2.TenantSettings(name="x" * 121, default_country="XX",
                                          timezone="Mars/Olympus",
                                          cors_origins=["http://evil.example.com/path"])),
        metadata=org.md()))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.field_violations) == {"tenant.name", "tenant.default_country",
                                             "tenant.timezone", "tenant.cors_origins"}
    got = await tenants_stub.GetTenant(tenants_pb2.GetTenantRequest(), metadata=org.md())
    assert got.tenant.settings.name == "Acme"


async def test_the_last_owner_can_be_neither_demoted_nor_removed(tenants_stub: Stub, org: Org,
                                                                 service_md: Md) -> None:
    for call in (tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(
                     user_id=org.owner, role="admin"), metadata=org.md()),
                 tenants_stub.RemoveMember(tenants_pb2.RemoveMemberRequest(
                     user_id=org.owner), metadata=org.md())):
        failure = await expect_failure(call)
        assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                                  "LAST_OWNER")
    second = await invite_and_join(tenants_stub, org, service_md, "second@example.com", "admin")
    await tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(
        user_id=second, role="owner"), metadata=org.md())
    demoted = await tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(
        user_id=org.owner, role="admin"), metadata=org.md(user=second))
    assert demoted.member.role == "admin"


async def test_admins_manage_operators_but_only_owners_touch_admins(
        tenants_stub: Stub, org: Org, service_md: Md) -> None:
    admin = await invite_and_join(tenants_stub, org, service_md, "admin@example.com", "admin")
    operator = await invite_and_join(tenants_stub, org, service_md, "op@example.com", "operator")
    as_admin = org.md("admin", user=admin)
    changed = await tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(
        user_id=operator, role="viewer"), metadata=as_admin)
    assert changed.member.role == "viewer"
    for call in (tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(
                     user_id=operator, role="admin"), metadata=as_admin),
                 tenants_stub.RemoveMember(tenants_pb2.RemoveMemberRequest(user_id=org.owner),
                                           metadata=as_admin),
                 tenants_stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
                     invitation=tenants_pb2.Invitation(email="x@example.com", role="admin")),
                     metadata=as_admin)):
        failure = await expect_failure(call)
        assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED,
                                                  "OWNER_REQUIRED")
    await tenants_stub.RemoveMember(tenants_pb2.RemoveMemberRequest(user_id=operator),
                                    metadata=as_admin)
    members = await tenants_stub.ListMembers(tenants_pb2.ListMembersRequest(), metadata=org.md())
    assert {m.user_id for m in members.members} == {org.owner, admin}


async def test_an_invitation_works_once_for_its_email_and_not_after_revocation(
        tenants_stub: Stub, org: Org, service_md: Md) -> None:
    invited = await tenants_stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
        invitation=tenants_pb2.Invitation(email="New.Person@Example.com", role="operator")),
        metadata=org.md())
    assert invited.token.startswith("inv_") and invited.invitation.email == "new.person@example.com"
    peek = await tenants_stub.PeekInvitation(tenants_pb2.PeekInvitationRequest(
        token=invited.token), metadata=service_md)
    assert (peek.tenant_id, peek.role, peek.tenant_name) == (org.tenant_id, "operator", "Acme")
    wrong_email = await expect_failure(tenants_stub.RedeemInvitation(
        tenants_pb2.RedeemInvitationRequest(token=invited.token, user_id=str(uuid.uuid4()),
                                            email="someone.else@example.com"),
        metadata=service_md))
    assert wrong_email.reason == "INVITATION_FOR_ANOTHER_EMAIL"
    joined = await tenants_stub.RedeemInvitation(tenants_pb2.RedeemInvitationRequest(
        token=invited.token, user_id=str(uuid.uuid4()), email="new.person@example.com"),
        metadata=service_md)
    assert joined.membership.role == "operator"
    again = await expect_failure(tenants_stub.RedeemInvitation(
        tenants_pb2.RedeemInvitationRequest(token=invited.token, user_id=str(uuid.uuid4()),
                                            email="new.person@example.com"),
        metadata=service_md))
    assert (again.code, again.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INVITATION_USED")

    revoked = await tenants_stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
        invitation=tenants_pb2.Invitation(email="later@example.com", role="viewer")),
        metadata=org.md())
    pending = await tenants_stub.ListInvitations(tenants_pb2.ListInvitationsRequest(),
                                                 metadata=org.md())
    assert [i.email for i in pending.invitations] == ["later@example.com"]
    await tenants_stub.RevokeInvitation(tenants_pb2.RevokeInvitationRequest(
        invitation_id=revoked.invitation.invitation_id), metadata=org.md())
    failure = await expect_failure(tenants_stub.RedeemInvitation(
        tenants_pb2.RedeemInvitationRequest(token=revoked.token, user_id=str(uuid.uuid4()),
                                            email="later@example.com"), metadata=service_md))
    assert failure.reason == "INVITATION_REVOKED"
    unknown = await expect_failure(tenants_stub.PeekInvitation(
        tenants_pb2.PeekInvitationRequest(token="inv_nope"), metadata=service_md))
    assert unknown.code == grpc.StatusCode.NOT_FOUND


async def test_operators_suspend_reactivate_and_change_plans(tenants_stub: Stub, org: Org,
                                                             service_md: Md) -> None:
    operator = org.tokens.metadata(tenant_id=str(uuid.uuid4()), role="owner", op=True)
    suspended = await tenants_stub.SuspendTenant(tenants_pb2.SuspendTenantRequest(
        tenant_id=org.tenant_id, reason="unpaid invoice"), metadata=operator)
    assert suspended.tenant.tenant.state == tenants_pb2.TENANT_STATE_SUSPENDED
    standing = await tenants_stub.GetTenantStanding(tenants_pb2.GetTenantStandingRequest(
        tenant_id=org.tenant_id), metadata=service_md)
    assert standing.state == tenants_pb2.TENANT_STATE_SUSPENDED
    twice = await expect_failure(tenants_stub.SuspendTenant(tenants_pb2.SuspendTenantRequest(
        tenant_id=org.tenant_id, reason="again"), metadata=operator))
    assert twice.reason == "STATE_UNCHANGED"
    await tenants_stub.ReactivateTenant(tenants_pb2.ReactivateTenantRequest(
        tenant_id=org.tenant_id), metadata=operator)
    planned = await tenants_stub.UpdateTenantPlan(tenants_pb2.UpdateTenantPlanRequest(
        tenant_id=org.tenant_id, plan_id="growth",
        overrides=tenants_pb2.LimitOverrides(api_requests_per_second=77)), metadata=operator)
    limits = planned.tenant.limits
    assert (limits.plan_id, limits.api_requests_per_second, limits.api_requests_per_minute) == (
        "growth", 77, 2000)
    bad = await expect_failure(tenants_stub.UpdateTenantPlan(tenants_pb2.UpdateTenantPlanRequest(
        tenant_id=org.tenant_id, plan_id="platinum"), metadata=operator))
    assert set(bad.field_violations) == {"plan_id"}
    listed = await tenants_stub.ListTenants(tenants_pb2.ListTenantsRequest(page_size=1000),
                                            metadata=operator)
    assert org.tenant_id in {t.tenant.tenant_id for t in listed.tenants}


async def test_closing_needs_the_name_and_ends_memberships(tenants_stub: Stub, org: Org,
                                                           service_md: Md) -> None:
    wrong = await expect_failure(tenants_stub.CloseTenant(tenants_pb2.CloseTenantRequest(
        confirm_name="Acme Inc"), metadata=org.md()))
    assert wrong.reason == "CONFIRMATION_MISMATCH"
    await tenants_stub.CloseTenant(tenants_pb2.CloseTenantRequest(confirm_name="Acme"),
                                   metadata=org.md())
    gone = await expect_failure(tenants_stub.GetMembership(tenants_pb2.GetMembershipRequest(
        tenant_id=org.tenant_id, user_id=org.owner), metadata=service_md))
    assert gone.code == grpc.StatusCode.NOT_FOUND
    standing = await tenants_stub.GetTenantStanding(tenants_pb2.GetTenantStandingRequest(
        tenant_id=org.tenant_id), metadata=service_md)
    assert standing.state == tenants_pb2.TENANT_STATE_CLOSED


async def test_another_tenants_ids_are_not_found_never_forbidden(
        tenants_stub: Stub, tokens: TokenFactory, service_md: Md) -> None:
    """Tenant isolation, black-box: every tenant route with the other tenant's ids."""
    a, b = [Org((await tenants_stub.CreateTenant(tenants_pb2.CreateTenantRequest(
        name=n, owner_user_id=o, request_id=str(uuid.uuid4())), metadata=service_md)
    ).tenant.tenant_id, o, tokens) for n, o in (("A", str(uuid.uuid4())),
                                                 ("B", str(uuid.uuid4())))]
    b_member = await invite_and_join(tenants_stub, b, service_md, "bee@example.com", "viewer")
    b_invite = await tenants_stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
        invitation=tenants_pb2.Invitation(email="pending@example.com", role="viewer")),
        metadata=b.md())
    calls = [
        tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(user_id=b_member,
                                                                  role="operator"),
                                  metadata=a.md()),
        tenants_stub.RemoveMember(tenants_pb2.RemoveMemberRequest(user_id=b_member),
                                  metadata=a.md()),
        tenants_stub.RemoveMember(tenants_pb2.RemoveMemberRequest(user_id=b.owner),
                                  metadata=a.md()),
        tenants_stub.RevokeInvitation(tenants_pb2.RevokeInvitationRequest(
            invitation_id=b_invite.invitation.invitation_id), metadata=a.md()),
    ]
    for call in calls:
        failure = await expect_failure(call)
        assert failure.code == grpc.StatusCode.NOT_FOUND, failure
    members = await tenants_stub.ListMembers(tenants_pb2.ListMembersRequest(), metadata=a.md())
    assert {m.user_id for m in members.members} == {a.owner}
    invitations = await tenants_stub.ListInvitations(tenants_pb2.ListInvitationsRequest(),
                                                     metadata=a.md())
    assert list(invitations.invitations) == []
    mine = await tenants_stub.GetTenant(tenants_pb2.GetTenantRequest(), metadata=a.md())
    assert mine.tenant.tenant.tenant_id == a.tenant_id


async def test_an_expired_invitation_is_refused(tenants_stub: Stub, org: Org, service_md: Md,
                                                admin_dsn: str) -> None:
    invited = await tenants_stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
        invitation=tenants_pb2.Invitation(email="slow@example.com", role="viewer")),
        metadata=org.md())
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("UPDATE tenants.invitations SET expires_at = now() - interval '1s'"
                           " WHERE id = $1", uuid.UUID(invited.invitation.invitation_id))
    finally:
        await conn.close()
    failure = await expect_failure(tenants_stub.RedeemInvitation(
        tenants_pb2.RedeemInvitationRequest(token=invited.token, user_id=str(uuid.uuid4()),
                                            email="slow@example.com"), metadata=service_md))
    assert (failure.code, failure.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                              "INVITATION_EXPIRED")
