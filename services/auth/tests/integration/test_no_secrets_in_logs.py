"""No password, token or hash ever reaches the logs (captured across a whole session flow)."""

from __future__ import annotations

import logging
import secrets

import pytest
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_kit.logs import ContextFilter
from tucano_kit.testing import expect_failure

pytestmark = pytest.mark.integration


async def test_secrets_never_appear_in_logs(auth_stub: auth_pb2_grpc.AuthServiceStub,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(ContextFilter())
    email = f"logs.{secrets.token_hex(4)}@example.com"
    password = f"secret horse {secrets.token_hex(6)}"
    signed = await auth_stub.Signup(auth_pb2.SignupRequest(
        email=email, password=password, display_name="Logs", tenant_name="Logs Inc"))
    login = await auth_stub.Login(auth_pb2.LoginRequest(email=email, password=password),
                                  metadata=(("x-forwarded-for", "203.0.113.200"),))
    refreshed = await auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=login.tokens.refresh_token))
    await expect_failure(auth_stub.Refresh(auth_pb2.RefreshRequest(
        refresh_token=login.tokens.refresh_token)))
    await expect_failure(auth_stub.Login(auth_pb2.LoginRequest(
        email=email, password=password + "x"), metadata=(("x-forwarded-for", "203.0.113.201"),)))
    secrets_used = [password, signed.tokens.access_token, signed.tokens.refresh_token,
                    login.tokens.access_token, login.tokens.refresh_token,
                    refreshed.tokens.refresh_token, refreshed.tokens.access_token, "$argon2id$"]
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records, "nothing was logged, so the scan proves nothing"
    assert "rpc" in text
    for secret in secrets_used:
        assert secret not in text
