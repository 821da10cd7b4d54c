"""Sign-up, sign-in, refresh rotation with reuse detection, sessions: on real auth + tenants
servers, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import asyncpg
import grpc
import jwt
import pytest
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_auth.bootstrap import App, set_platform_operator
from tucano_auth.settings import AuthSettings
from tucano_kit.errors import Unavailable
from tucano_kit.postgres.provision import dsn_for_database
from tucano_kit.settings import ConfigError
from tucano_kit.testing import expect_failure

pytestmark = pytest.mark.integration

Stub = auth_pb2_grpc.AuthServiceStub
PASSWORD = "correct horse battery staple"


def new_email() -> str:
    return f"ada.{secrets.token_hex(4)}@Example.COM"


def ip_md(ip: str | None = None) -> tuple[tuple[str, str], ...]:
    """Each test signs in from its own documentation-range address (RFC 5737), so throttling
    counters of one test or run never affect another."""
    return (("x-forwarded-for", ip or f"203.0.113.{secrets.randbelow(250) + 1}, 198.51.100."
             f"{secrets.randbelow(250) + 1}"),)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def signup(stub: Stub, email: str | None = None) -> auth_pb2.SignupResponse:
    return await stub.Signup(auth_pb2.SignupRequest(
        email=email or new_email(), password=PASSWORD, display_name="Ada Lovelace",
        tenant_name="Analytical Engines"))


async def test_signup_login_refresh_and_reuse_kills_the_family(auth_stub: Stub) -> None:
    email = new_email()
    signed = await signup(auth_stub, email)
    assert signed.user.email == email.lower() and signed.tokens.role == "owner"
    login = await auth_stub.Login(auth_pb2.LoginRequest(email=email, password=PASSWORD),
                                  metadata=ip_md())
    assert login.tokens.tenant_id == signed.tokens.tenant_id
    first = login.tokens.refresh_token
    second = (await auth_stub.Refresh(auth_pb2.RefreshRequest(refresh_token=first))).tokens
    assert second.refresh_token != first and second.role == "owner"
    reused = await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(refresh_token=first)))
    assert (reused.code, reused.reason) == (grpc.StatusCode.UNAUTHENTICATED,
                                            "REFRESH_TOKEN_REUSED")
    newest = await expect_failure(auth_stub.Refresh(
        auth_pb2.RefreshRequest(refresh_token=second.refresh_token)))
    assert (newest.code, newest.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")
    # The signup's own session is a different family and still works.
    other = await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=signed.tokens.refresh_token))
    assert other.tokens.access_token


async def test_two_concurrent_refreshes_with_one_token_end_the_session(auth_stub: Stub) -> None:
    token = (await signup(auth_stub)).tokens.refresh_token
    results = await asyncio.gather(
        *(auth_stub.Refresh(auth_pb2.RefreshRequest(refresh_token=token)) for _ in range(2)),
        return_exceptions=True)
    assert sum(isinstance(r, grpc.aio.AioRpcError) for r in results) == 1
    winner = next(r for r in results if not isinstance(r, BaseException))
    failure = await expect_failure(auth_stub.Refresh(
        auth_pb2.RefreshRequest(refresh_token=winner.tokens.refresh_token)))
    assert failure.reason == "SESSION_REVOKED"


async def test_wrong_password_and_unknown_email_fail_alike(auth_stub: Stub) -> None:
    email = new_email()
    await signup(auth_stub, email)
    wrong = await expect_failure(auth_stub.Login(
        auth_pb2.LoginRequest(email=email, password="not the password!"), metadata=ip_md()))
    unknown = await expect_failure(auth_stub.Login(
        auth_pb2.LoginRequest(email=new_email(), password=PASSWORD), metadata=ip_md()))
    assert (wrong.code, wrong.reason, wrong.message) == (
        unknown.code, unknown.reason, unknown.message)
    assert wrong.reason == "INVALID_CREDENTIALS"


async def test_the_sixth_wrong_attempt_is_throttled_but_another_ip_still_signs_in(
        auth_stub: Stub) -> None:
    email = new_email()
    await signup(auth_stub, email)
    attacker = ip_md("203.0.113.66")
    for _ in range(5):
        failure = await expect_failure(auth_stub.Login(
            auth_pb2.LoginRequest(email=email, password="guess guess guess"), metadata=attacker))
        assert failure.reason == "INVALID_CREDENTIALS"
    throttled = await expect_failure(auth_stub.Login(
        auth_pb2.LoginRequest(email=email, password=PASSWORD), metadata=attacker))
    assert (throttled.code, throttled.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED,
                                                  "LOGIN_THROTTLED")
    ok = await auth_stub.Login(auth_pb2.LoginRequest(email=email, password=PASSWORD),
                               metadata=ip_md("198.51.100.7"))
    assert ok.tokens.access_token


async def test_logout_ends_the_session_and_logout_all_ends_every_one(auth_stub: Stub) -> None:
    email = new_email()
    signed = await signup(auth_stub, email)
    second = (await auth_stub.Login(auth_pb2.LoginRequest(email=email, password=PASSWORD),
                                    metadata=ip_md())).tokens
    await auth_stub.Logout(auth_pb2.LogoutRequest(), metadata=bearer(second.access_token))
    assert (await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=second.refresh_token)))).reason == "SESSION_REVOKED"
    everything = await auth_stub.LogoutAll(auth_pb2.LogoutAllRequest(),
                                           metadata=bearer(signed.tokens.access_token))
    assert everything.sessions_revoked == 1
    assert (await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=signed.tokens.refresh_token)))).reason == "SESSION_REVOKED"


async def test_change_password_ends_other_sessions_and_the_new_password_works(
        auth_stub: Stub) -> None:
    email = new_email()
    signed = await signup(auth_stub, email)
    new_password = "a much longer new passphrase 42"
    changed = await auth_stub.ChangePassword(auth_pb2.ChangePasswordRequest(
        current_password=PASSWORD, new_password=new_password),
        metadata=bearer(signed.tokens.access_token))
    assert (await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=signed.tokens.refresh_token)))).reason == "SESSION_REVOKED"
    assert (await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=changed.tokens.refresh_token))).tokens.access_token
    await auth_stub.Login(auth_pb2.LoginRequest(email=email, password=new_password),
                          metadata=ip_md())
    wrong = await expect_failure(auth_stub.ChangePassword(auth_pb2.ChangePasswordRequest(
        current_password="definitely wrong pw", new_password="another fine passphrase 7"),
        metadata=bearer(changed.tokens.access_token)))
    assert wrong.reason == "WRONG_PASSWORD"


async def test_me_lists_memberships_and_switch_tenant_needs_one(auth_stub: Stub) -> None:
    signed = await signup(auth_stub)
    me = await auth_stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(signed.tokens.access_token))
    assert [m.tenant_id for m in me.memberships] == [signed.tokens.tenant_id]
    assert me.current_tenant_id == signed.tokens.tenant_id
    other = await signup(auth_stub)
    denied = await expect_failure(auth_stub.SwitchTenant(
        auth_pb2.SwitchTenantRequest(tenant_id=other.tokens.tenant_id),
        metadata=bearer(signed.tokens.access_token)))
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_A_MEMBER")
    same = await auth_stub.SwitchTenant(
        auth_pb2.SwitchTenantRequest(tenant_id=signed.tokens.tenant_id),
        metadata=bearer(signed.tokens.access_token))
    assert same.tokens.tenant_id == signed.tokens.tenant_id


async def test_refresh_after_the_membership_ended_fails(auth: tuple[App, grpc.aio.Channel],
                                                        auth_stub: Stub) -> None:
    signed = await signup(auth_stub)
    app = auth[0]
    # End the membership the way the only RPC that does so today does: abandoning the tenant.
    tenants = app.deps.tenants
    await tenants.abandon_tenant(uuid.UUID(signed.tokens.tenant_id),
                                 uuid.UUID(signed.user.user_id))
    failure = await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=signed.tokens.refresh_token)))
    assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED,
                                              "MEMBERSHIP_ENDED")


async def test_signup_with_a_taken_email_creates_nothing(auth_stub: Stub, admin_url: str,
                                                          test_database: str) -> None:
    email = new_email()
    await signup(auth_stub, email)
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))
    try:
        tenants_before = await conn.fetchval("SELECT count(*) FROM tenants.tenants")
        failure = await expect_failure(signup(auth_stub, email.upper()))
        assert (failure.code, failure.reason) == (grpc.StatusCode.ALREADY_EXISTS, "EMAIL_TAKEN")
        assert await conn.fetchval("SELECT count(*) FROM tenants.tenants") == tenants_before
        assert await conn.fetchval("SELECT count(*) FROM auth.users WHERE email = $1",
                                   email.lower()) == 1
    finally:
        await conn.close()


async def test_signup_when_tenants_is_down_leaves_no_user(auth: tuple[App, grpc.aio.Channel],
                                                           admin_url: str,
                                                           test_database: str) -> None:
    app = auth[0]
    email = new_email()
    real = app.deps.tenants

    class Down:
        async def create_tenant(self, *args: object, **kwargs: object) -> uuid.UUID:
            raise Unavailable("TENANTS_UNAVAILABLE", "down")

    object.__setattr__(app.deps, "tenants", Down())
    try:
        failure = await expect_failure(auth_pb2_grpc.AuthServiceStub(auth[1]).Signup(
            auth_pb2.SignupRequest(email=email, password=PASSWORD, display_name="Ada",
                                   tenant_name="Acme")))
    finally:
        object.__setattr__(app.deps, "tenants", real)
    assert failure.code == grpc.StatusCode.UNAVAILABLE
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))
    try:
        assert await conn.fetchval("SELECT count(*) FROM auth.users WHERE email = $1",
                                   email.lower()) == 0
    finally:
        await conn.close()


async def test_password_hashes_are_argon2id_with_owasp_parameters(auth_stub: Stub,
                                                                  admin_url: str,
                                                                  test_database: str) -> None:
    email = new_email()
    await signup(auth_stub, email)
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))
    try:
        stored = await conn.fetchval("SELECT password_hash FROM auth.users WHERE email = $1",
                                     email.lower())
    finally:
        await conn.close()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


async def test_service_tokens_need_the_configured_secret(
        auth_stub: Stub, service_client: tuple[str, str]) -> None:
    client_id, client_secret = service_client
    token = await auth_stub.IssueServiceToken(auth_pb2.IssueServiceTokenRequest(
        client_id=client_id, client_secret=client_secret))
    assert token.access_token and token.expires_in > 0
    for client, secret in [(client_id, "wrong-secret-value"), ("nobody", "x" * 20)]:
        failure = await expect_failure(auth_stub.IssueServiceToken(
            auth_pb2.IssueServiceTokenRequest(client_id=client, client_secret=secret)))
        assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED,
                                                  "INVALID_CLIENT")


async def test_a_platform_operator_gets_the_op_claim_at_next_sign_in(
        auth_stub: Stub, auth_settings: AuthSettings) -> None:
    email = new_email()
    signed = await signup(auth_stub, email)
    assert "op" not in jwt.decode(signed.tokens.access_token, options={"verify_signature": False})
    await set_platform_operator(auth_settings, [email, "on"])
    login = await auth_stub.Login(auth_pb2.LoginRequest(email=email, password=PASSWORD),
                                  metadata=ip_md())
    claims = jwt.decode(login.tokens.access_token, options={"verify_signature": False})
    assert claims["op"] is True
    with pytest.raises(ConfigError, match="no user"):
        await set_platform_operator(auth_settings, [new_email(), "on"])
