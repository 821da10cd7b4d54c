"""Pytest plugin with fixtures for tests against the real PostgreSQL, RabbitMQ and Redis.

Registered in the repository's root conftest.py. Each test session gets its own database
(`tucano_test_<random>`), provisioned and migrated like production, and dropped at the end;
login roles are cluster-wide and shared with the local stack (provisioning is idempotent).

Environment: TUCANO_TEST_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
TUCANO_AMQP_URL, TUCANO_REDIS_URL (the services' own defaults).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import grpc
import grpc.aio
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tucano_kit.auth import Role, StaticJwks, TenantStanding, TokenVerifier
from tucano_kit.postgres.migrations import migrate, service_migrations
from tucano_kit.postgres.provision import SchemaSpec, dsn_for_database, provision

ADMIN_URL = os.environ.get("TUCANO_TEST_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TUCANO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("TUCANO_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def admin_url() -> str:
    return ADMIN_URL


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return AMQP_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture(scope="session")
async def test_database(admin_url: str) -> AsyncIterator[str]:
    """The name of a fresh database for this test session."""
    name = f"tucano_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield name
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def admin_dsn(admin_url: str, test_database: str) -> str:
    """Admin DSN pointing at the session's database."""
    return dsn_for_database(admin_url, test_database)


async def migrated_service_dsn(admin_url: str, database: str, schema: str, role: str,
                               migrations: Path) -> str:
    """Provision and migrate one service schema in `database`; returns the service's DSN."""
    host = urlsplit(admin_url).netloc.rpartition("@")[2]  # the admin URL's server, not a guess
    dsn = dsn_for_database(f"postgresql://{quote(role, safe='')}@{host}/", database)
    spec = SchemaSpec.from_dsn(schema, dsn)
    await provision(admin_url, spec)
    await migrate(admin_url, spec, service_migrations(migrations))
    return dsn


@pytest.fixture(scope="session")
def unique() -> Iterator[str]:
    """A short random string, to keep names of queues, keys etc. apart between runs."""
    yield secrets.token_hex(4)


class TokenFactory:
    """Mints ES256 access tokens for tests with its own key, and a verifier that trusts it."""

    def __init__(self, issuer: str = "https://auth.tucano.local", audience: str = "tucano-api"):
        self.issuer, self.audience = issuer, audience
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.kid = f"test-{secrets.token_hex(4)}"
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        self.jwks = [{**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}]

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(StaticJwks(self.jwks), issuer=self.issuer, audience=self.audience)

    def token(self, *, tenant_id: str | None = None, role: str | None = "owner",
              subject: str | None = None, ttl_s: int = 600, **claims: object) -> str:
        now = int(time.time())
        body: dict[str, object] = {
            "iss": self.issuer, "aud": self.audience, "sub": subject or str(uuid.uuid4()),
            "jti": str(uuid.uuid4()), "iat": now, "exp": now + ttl_s}
        if tenant_id:
            body["tid"] = tenant_id
        if role and tenant_id:
            body["role"] = role
        body.update(claims)
        return jwt.encode(body, self._key, algorithm="ES256", headers={"kid": self.kid})

    def metadata(self, **kwargs: Any) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(**kwargs)}"),)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@contextlib.asynccontextmanager
async def serve_app(build: Callable[..., Awaitable[Any]], settings: Any,
                    **kwargs: Any) -> AsyncIterator[tuple[Any, grpc.aio.Channel]]:
    """Build a service with its real composition root, serve it on port 0, and yield
    (app, channel to it); everything is closed afterwards."""
    async with contextlib.AsyncExitStack() as stack:
        app = await build(settings, stack, **kwargs)
        await app.server.start()
        stack.push_async_callback(app.server.stop, 0)
        channel = grpc.aio.insecure_channel(app.server.address)
        stack.push_async_callback(channel.close)
        yield app, channel


@dataclass
class RpcFailure:
    """What a failed RPC told its caller, decoded from google.rpc.Status details."""

    code: grpc.StatusCode
    message: str
    reason: str | None
    domain: str | None
    field_violations: dict[str, str]


def rpc_failure(error: grpc.aio.AioRpcError) -> RpcFailure:
    status = rpc_status.from_call(error)
    reason = domain = None
    violations: dict[str, str] = {}
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain = info.reason, info.domain
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = {v.field: v.description for v in bad.field_violations}
    return RpcFailure(error.code(), error.details() or "", reason, domain, violations)


async def expect_failure(call: Awaitable[Any]) -> RpcFailure:
    """Await an RPC that must fail; return the decoded failure."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return rpc_failure(exc)
    raise AssertionError("the RPC succeeded but was expected to fail")


Mint = Callable[[str | None, bool], Awaitable[str | None]]
"""mint(role, service) -> a bearer token: a tenant user's with `role` (role "platform_operator":
an owner's token with the platform-operator claim), a service's, or None."""

# Reasons the access layer (interceptor and verifier) gives; handlers give their own.
_ACCESS_REASONS = {"UNAUTHENTICATED", "ROLE_TOO_LOW", "SERVICE_ONLY", "TENANT_REQUIRED",
                   "PLATFORM_OPERATOR_ONLY", "MALFORMED_TOKEN", "INVALID_TOKEN", "TOKEN_EXPIRED",
                   "UNKNOWN_KEY", "BAD_ALGORITHM", "BAD_HEADER"}


async def _call_empty(channel: grpc.aio.Channel, method: Any,
                      token: str | None) -> RpcFailure | None:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(f"/{method.containing_service.full_name}/{method.name}",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_class.FromString)
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    try:
        await call(request_class(), metadata=metadata, timeout=30)
    except grpc.aio.AioRpcError as exc:
        return rpc_failure(exc)
    return None


async def check_access_policy(channel: grpc.aio.Channel, service: Any, policy: Any,
                              mint: Mint) -> list[str]:
    """Call every RPC of `service` (a ServiceDescriptor) with an empty request as the lowest
    caller its policy allows, and as the caller just below; returns what went wrong. An allowed
    call may fail for other reasons (e.g. INVALID_ARGUMENT), never for permission."""
    problems: list[str] = []
    for method in service.methods:
        name = f"/{service.full_name}/{method.name}"
        access = policy[name]
        if access.kind == "public":
            allowed, below = await mint(None, False), None
            below_expected: str | None = None
        elif access.kind == "service":
            allowed, below = await mint(None, True), await mint("owner", False)
            below_expected = "SERVICE_ONLY"
        elif access.kind == "platform_operator":
            allowed, below = await mint("platform_operator", False), await mint("owner", False)
            below_expected = "PLATFORM_OPERATOR_ONLY"
        elif access.kind == "tenant":
            allowed = await mint(access.min_role.name.lower(), False)
            lower = [r for r in Role if r < access.min_role]
            below = await mint(lower[-1].name.lower(), False) if lower else None
            below_expected = "ROLE_TOO_LOW" if lower else None  # viewer: anonymous is below
        else:
            problems.append(f"{name}: no check for access kind {access.kind}")
            continue
        failure = await _call_empty(channel, method, allowed)
        if failure is not None and failure.reason in _ACCESS_REASONS:
            problems.append(f"{name}: allowed caller refused: {failure.code} {failure.reason}")
        if below_expected is not None:
            failure = await _call_empty(channel, method, below)
            if failure is None or failure.code != grpc.StatusCode.PERMISSION_DENIED \
                    or failure.reason != below_expected:
                problems.append(f"{name}: caller below the policy was not refused with "
                                f"{below_expected}: {failure}")
        if access.kind != "public":
            failure = await _call_empty(channel, method, None)
            if failure is None or failure.code != grpc.StatusCode.UNAUTHENTICATED:
                problems.append(f"{name}: anonymous caller not refused: {failure}")
    return problems


async def eventually(check: Callable[[], Awaitable[bool]], *, within_s: float, what: str,
                     interval_s: float = 0.1) -> None:
    """Wait until `check()` is true, failing after `within_s` seconds (waits, never sleeps
    a fixed time)."""
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s:g}s: {what}")
        await asyncio.sleep(interval_s)


class StaticTenantGate:
    """A TenantGate for tests: every tenant is active, with `default` limits, unless `states`
    or `standings` say otherwise."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.standings: dict[str, TenantStanding] = {}
        self.default = TenantStanding(state="active", max_contacts=1_000_000,
                                      monthly_message_quota=1_000_000)

    async def standing(self, tenant_id: str) -> TenantStanding:
        standing = self.standings.get(tenant_id, self.default)
        if tenant_id in self.states:
            standing = dataclasses.replace(standing, state=self.states[tenant_id])
        return standing


@pytest.fixture(scope="session")
def tenant_gate() -> StaticTenantGate:
    return StaticTenantGate()
