"""Invitations end to end between auth and tenants: accept as a new or an existing user, once;
a removed member's sessions end."""

from __future__ import annotations

import secrets
import uuid

import asyncpg
import grpc
import jwt
import pytest
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.postgres.provision import dsn_for_database
from tucano_kit.testing import eventually, expect_failure

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
Auth = auth_pb2_grpc.AuthServiceStub
Tenants = tenants_pb2_grpc.TenantsServiceStub


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def owner_of_new_tenant(auth_stub: Auth) -> auth_pb2.SignupResponse:
    return await auth_stub.Signup(auth_pb2.SignupRequest(
        email=f"owner.{secrets.token_hex(4)}@example.com", password=PASSWORD,
        display_name="Owner", tenant_name="Inviting Co"))


async def invite(tenants_stub: Tenants, owner: auth_pb2.SignupResponse, email: str,
                 role: str = "operator") -> str:
    reply = await tenants_stub.CreateInvitation(tenants_pb2.CreateInvitationRequest(
        invitation=tenants_pb2.Invitation(email=email, role=role)),
        metadata=bearer(owner.tokens.access_token))
    return reply.token


async def test_a_new_person_accepts_once_and_is_signed_in(auth_stub: Auth,
                                                          tenants_stub: Tenants) -> None:
    owner = await owner_of_new_tenant(auth_stub)
    email = f"new.{secrets.token_hex(4)}@example.com"
    token = await invite(tenants_stub, owner, email)
    missing = await expect_failure(auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=token, password=PASSWORD)))
    assert set(missing.field_violations) == {"display_name"}
    accepted = await auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=token, password=PASSWORD, display_name="Newcomer"))
    assert accepted.user_created and accepted.user.email == email
    assert (accepted.tokens.tenant_id, accepted.tokens.role) == (owner.tokens.tenant_id,
                                                                 "operator")
    again = await expect_failure(auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=token, password=PASSWORD, display_name="Newcomer")))
    assert (again.code, again.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                          "INVITATION_USED")


async def test_an_existing_user_proves_their_password_to_join(auth_stub: Auth,
                                                              tenants_stub: Tenants) -> None:
    owner = await owner_of_new_tenant(auth_stub)
    member = await owner_of_new_tenant(auth_stub)
    token = await invite(tenants_stub, owner, member.user.email, role="viewer")
    wrong = await expect_failure(auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=token, password="not my password at all")))
    assert wrong.reason == "INVALID_CREDENTIALS"
    joined = await auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=token, password=PASSWORD))
    assert not joined.user_created and joined.user.user_id == member.user.user_id
    me = await auth_stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(
        joined.tokens.access_token))
    assert {m.tenant_id for m in me.memberships} == {owner.tokens.tenant_id,
                                                    member.tokens.tenant_id}


async def test_a_failed_redeem_leaves_no_new_account(auth_stub: Auth, tenants_stub: Tenants,
                                                     admin_url: str, test_database: str) -> None:
    owner = await owner_of_new_tenant(auth_stub)
    email = f"revoked.{secrets.token_hex(4)}@example.com"
    token = await invite(tenants_stub, owner, email)
    pending = await tenants_stub.ListInvitations(tenants_pb2.ListInvitationsRequest(),
                                                 metadata=bearer(owner.tokens.access_token))
    await tenants_stub.RevokeInvitation(tenants_pb2.RevokeInvitationRequest(
        invitation_id=pending.invitations[0].invitation_id),
        metadata=bearer(owner.tokens.access_token))
    failure = await expect_failure(auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=token, password=PASSWORD, display_name="Too Late")))
    assert failure.reason == "INVITATION_REVOKED"
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))
    try:
        assert await conn.fetchval("SELECT count(*) FROM auth.users WHERE email = $1",
                                   email) == 0
    finally:
        await conn.close()


async def test_a_removed_members_sessions_end_promptly(auth_stub: Auth, tenants_stub: Tenants,
                                                       admin_url: str,
                                                       test_database: str) -> None:
    owner = await owner_of_new_tenant(auth_stub)
    email = f"leaving.{secrets.token_hex(4)}@example.com"
    joined = await auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=await invite(tenants_stub, owner, email), password=PASSWORD,
        display_name="Leaving Soon"))
    await tenants_stub.RemoveMember(tenants_pb2.RemoveMemberRequest(
        user_id=joined.user.user_id), metadata=bearer(owner.tokens.access_token))
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))

    async def sessions_ended() -> bool:
        return not await conn.fetchval(
            "SELECT count(*) FROM auth.sessions WHERE user_id = $1 AND revoked_at IS NULL",
            uuid.UUID(joined.user.user_id))

    try:  # the event travels: tenants' outbox -> RabbitMQ -> auth's consumer
        await eventually(sessions_ended, within_s=20, what="the member's sessions ended")
    finally:
        await conn.close()
    failure = await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=joined.tokens.refresh_token)))
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")


async def test_a_member_of_two_tenants_signs_in_to_either_and_a_role_change_applies_at_refresh(
        auth_stub: Auth, tenants_stub: Tenants) -> None:
    owner = await owner_of_new_tenant(auth_stub)
    member = await owner_of_new_tenant(auth_stub)  # owner of a tenant of their own
    await auth_stub.AcceptInvitation(auth_pb2.AcceptInvitationRequest(
        token=await invite(tenants_stub, owner, member.user.email, role="viewer"),
        password=PASSWORD))
    into_owners = await auth_stub.Login(auth_pb2.LoginRequest(
        email=member.user.email, password=PASSWORD, tenant_id=owner.tokens.tenant_id))
    assert (into_owners.tokens.tenant_id, into_owners.tokens.role) == (
        owner.tokens.tenant_id, "viewer")
    into_own = await auth_stub.Login(auth_pb2.LoginRequest(
        email=member.user.email, password=PASSWORD, tenant_id=member.tokens.tenant_id))
    assert (into_own.tokens.tenant_id, into_own.tokens.role) == (member.tokens.tenant_id,
                                                                 "owner")
    stranger = await owner_of_new_tenant(auth_stub)
    refused = await expect_failure(auth_stub.Login(auth_pb2.LoginRequest(
        email=member.user.email, password=PASSWORD, tenant_id=stranger.tokens.tenant_id)))
    assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_A_MEMBER")
    switched = await auth_stub.SwitchTenant(auth_pb2.SwitchTenantRequest(
        tenant_id=owner.tokens.tenant_id), metadata=bearer(into_own.tokens.access_token))
    assert (switched.tokens.tenant_id, switched.tokens.role) == (owner.tokens.tenant_id,
                                                                 "viewer")
    claims = jwt.decode(switched.tokens.access_token, options={"verify_signature": False})
    assert (claims["sub"], claims["tid"], claims["role"]) == (
        member.user.user_id, owner.tokens.tenant_id, "viewer")

    await tenants_stub.UpdateMember(tenants_pb2.UpdateMemberRequest(
        user_id=member.user.user_id, role="operator"), metadata=bearer(owner.tokens.access_token))
    refreshed = await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=switched.tokens.refresh_token))
    assert (refreshed.tokens.tenant_id, refreshed.tokens.role) == (owner.tokens.tenant_id,
                                                                   "operator")
    own = await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=into_own.tokens.refresh_token))
    assert (own.tokens.tenant_id, own.tokens.role) == (member.tokens.tenant_id, "owner")


async def test_an_access_token_carries_exactly_the_designed_claims_for_ten_minutes(
        auth_stub: Auth) -> None:
    signed = await owner_of_new_tenant(auth_stub)
    token = signed.tokens.access_token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "tid", "role", "sid", "jti", "iat", "nbf", "exp"}
    assert (claims["iss"], claims["aud"]) == ("https://auth.tucano.local", "tucano-api")
    assert (claims["sub"], claims["tid"], claims["role"]) == (
        signed.user.user_id, signed.tokens.tenant_id, "owner")
    assert claims["exp"] - claims["iat"] == 600 and claims["nbf"] == claims["iat"]
    uuid.UUID(claims["sid"])
    again = await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=signed.tokens.refresh_token))
    renewed = jwt.decode(again.tokens.access_token, options={"verify_signature": False})
    assert renewed["sid"] == claims["sid"] and renewed["jti"] != claims["jti"]
