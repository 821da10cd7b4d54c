"""Signing keys: first key at start, JWKS over gRPC, rotation, sealed at rest."""

from __future__ import annotations

import base64
import contextlib
import os

import asyncpg
import grpc.aio
import jwt
import pytest
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_auth.bootstrap import App, build, rotate_keys
from tucano_auth.settings import AuthSettings
from tucano_kit.auth import StaticJwks, TokenVerifier
from tucano_kit.postgres.provision import dsn_for_database
from tucano_kit.settings import ConfigError, load_settings

pytestmark = pytest.mark.integration


async def jwks(channel: grpc.aio.Channel) -> list[auth_pb2.JsonWebKey]:
    response = await auth_pb2_grpc.AuthServiceStub(channel).GetJwks(auth_pb2.GetJwksRequest())
    return list(response.keys)


def as_dicts(keys: list[auth_pb2.JsonWebKey]) -> list[dict[str, str]]:
    return [{f: getattr(k, f) for f in ("kty", "crv", "x", "y", "kid", "use", "alg")}
            for k in keys]


async def test_the_service_publishes_an_es256_key_at_start(
        auth: tuple[App, grpc.aio.Channel]) -> None:
    keys = await jwks(auth[1])
    assert keys and all((k.kty, k.crv, k.alg, k.use) == ("EC", "P-256", "ES256", "sig")
                        for k in keys)


async def test_tokens_verify_against_the_published_keys_and_survive_rotation(
        auth: tuple[App, grpc.aio.Channel], auth_settings: AuthSettings) -> None:
    app, channel = auth
    before = await app.signer.sign(subject="user-1", tenant_id="t-1", role="owner",
                                   session_id="s-1")
    await rotate_keys(auth_settings.model_copy(update={"key_publish_lead_s": 0}))
    await app.signer.reload()
    after = await app.signer.sign(subject="user-1", tenant_id="t-1", role="owner")
    verifier = TokenVerifier(StaticJwks(as_dicts(await jwks(channel))),
                             issuer=auth_settings.jwt_issuer, audience=auth_settings.jwt_audience)
    old_caller, new_caller = await verifier.verify(before), await verifier.verify(after)
    assert (old_caller.subject, old_caller.tenant_id, old_caller.session_id) == (
        "user-1", "t-1", "s-1")
    assert new_caller.role is not None and new_caller.role.name == "OWNER"
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    assert jwt.get_unverified_header(after)["kid"] == (await jwks(channel))[0].kid


async def test_private_keys_are_sealed_at_rest(auth_dsn: str, admin_url: str,
                                               test_database: str) -> None:
    conn = await asyncpg.connect(dsn_for_database(admin_url, test_database))
    try:
        rows = await conn.fetch("SELECT sealed_private_key FROM auth.signing_keys")
    finally:
        await conn.close()
    assert rows
    for row in rows:
        assert b"PRIVATE KEY" not in row["sealed_private_key"]


async def test_a_wrong_key_encryption_key_stops_start_up(auth_settings: AuthSettings,
                                                         auth: object) -> None:
    wrong = auth_settings.model_copy(
        update={"key_encryption_key": base64.b64encode(os.urandom(32)).decode()})
    async with contextlib.AsyncExitStack() as stack:
        with pytest.raises(ConfigError,
                           match="TUCANO_AUTH_KEY_ENCRYPTION_KEY: cannot open signing key"):
            await build(wrong, stack)


def test_a_malformed_key_encryption_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("TUCANO_AUTH_KEY_ENCRYPTION_KEY", "c2hvcnQ=")
    with pytest.raises(ConfigError, match=r"TUCANO_AUTH_KEY_ENCRYPTION_KEY: .*32 bytes"):
        load_settings(AuthSettings)


async def test_a_rotated_key_is_published_before_it_signs(
        auth: tuple[App, grpc.aio.Channel], auth_settings: AuthSettings) -> None:
    app, channel = auth
    await app.signer.reload()
    signing = jwt.get_unverified_header(await app.signer.sign(subject="u"))["kid"]
    await rotate_keys(auth_settings.model_copy(update={"key_publish_lead_s": 600}))
    await app.signer.reload()
    published = [k.kid for k in await jwks(channel)]
    still = jwt.get_unverified_header(await app.signer.sign(subject="u"))["kid"]
    assert still == signing  # the old key signs until the new one's time comes
    assert len(published) >= 2 and published[0] != signing and signing in published
