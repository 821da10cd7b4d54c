"""Bad input is INVALID_ARGUMENT with field-level details and writes nothing."""

from __future__ import annotations

import secrets

import asyncpg
import grpc
import grpc.aio
import pytest
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_kit.postgres.provision import dsn_for_database
from tucano_kit.testing import expect_failure, rpc_failure

pytestmark = pytest.mark.integration

GOOD = {"email": "grace@example.com", "password": "correct horse battery staple",
        "display_name": "Grace", "tenant_name": "Cobol Inc"}


@pytest.mark.parametrize(("changes", "fields"), [
    ({"email": "not-an-email"}, {"email"}),
    ({"email": "a@" + "b" * 250 + ".com"}, {"email"}),
    ({"password": "short"}, {"password"}),
    ({"password": "x" * 129}, {"password"}),
    ({"password": "password1234"}, {"password"}),
    ({"tenant_name": "Cobol Mainframes Inc", "password": "Cobol Mainframes Inc"}, {"password"}),
    ({"display_name": "", "tenant_name": "t" * 121}, {"display_name", "tenant_name"}),
    ({"email": "", "password": "", "display_name": "", "tenant_name": ""},
     {"email", "password", "display_name", "tenant_name"}),
])
async def test_signup_reports_every_bad_field_and_creates_no_user(
        auth_stub: auth_pb2_grpc.AuthServiceStub, admin_url: str, test_database: str,
        changes: dict[str, str], fields: set[str]) -> None:
    email = f"bad.{secrets.token_hex(4)}@example.com"
    request = {**GOOD, "email": email, **changes}
    failure = await expect_failure(auth_stub.Signup(auth_pb2.SignupRequest(**request)))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.field_violations) == fields
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))
    try:
        assert await conn.fetchval("SELECT count(*) FROM auth.users WHERE email = $1",
                                   request["email"].lower()) == 0
    finally:
        await conn.close()


async def test_an_empty_login_names_both_fields(auth_stub: auth_pb2_grpc.AuthServiceStub
                                                ) -> None:
    failure = await expect_failure(auth_stub.Login(auth_pb2.LoginRequest()))
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.field_violations) == {"email", "password"}


async def test_non_utf8_strings_are_invalid_argument_not_internal(
        auth: tuple[object, grpc.aio.Channel]) -> None:
    # Field 1 (email), wire type 2, 3 bytes that are not UTF-8.
    raw = b"\x0a\x03\xff\xfe\xfd"
    call = auth[1].unary_unary("/tucano.auth.v1.AuthService/Signup",
                               request_serializer=lambda b: b,
                               response_deserializer=auth_pb2.SignupResponse.FromString)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(raw)
    failure = rpc_failure(raised.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.field_violations == {"email": "is not valid UTF-8"}


async def test_bad_session_requests_name_their_fields_and_change_nothing(
        auth_stub: auth_pb2_grpc.AuthServiceStub) -> None:
    signed = await auth_stub.Signup(auth_pb2.SignupRequest(
        **{**GOOD, "email": f"session.{secrets.token_hex(4)}@example.com"}))
    md = (("authorization", f"Bearer {signed.tokens.access_token}"),)
    cases = [
        (auth_stub.Refresh(auth_pb2.RefreshRequest()), {"refresh_token"}),
        (auth_stub.Refresh(auth_pb2.RefreshRequest(refresh_token="r" * 5000)), {"refresh_token"}),
        (auth_stub.SwitchTenant(auth_pb2.SwitchTenantRequest(tenant_id="not-a-uuid"),
                                metadata=md), {"tenant_id"}),
        (auth_stub.ChangePassword(auth_pb2.ChangePasswordRequest(
            current_password=GOOD["password"], new_password="short"), metadata=md),
         {"new_password"}),
        (auth_stub.ChangePassword(auth_pb2.ChangePasswordRequest(), metadata=md),
         {"current_password", "new_password"}),
    ]
    for call, fields in cases:
        failure = await expect_failure(call)
        assert (failure.code, set(failure.field_violations)) == (
            grpc.StatusCode.INVALID_ARGUMENT, fields), failure
    # Nothing changed: the password and the session are as they were.
    again = await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=signed.tokens.refresh_token))
    await auth_stub.Login(auth_pb2.LoginRequest(email=signed.user.email,
                                                password=GOOD["password"]))
    assert again.tokens.access_token
