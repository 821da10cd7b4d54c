"""Composition root of the auth service: the only module that knows concrete classes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import grpc.aio
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_kit.auth import TokenVerifier
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.lifecycle import background
from tucano_kit.runtime import (
    CachedTenantGate,
    GrpcTenantStanding,
    open_amqp,
    open_database,
    open_redis,
)
from tucano_kit.settings import ConfigError

from tucano_auth.adapters.attempts import (
    FallbackLoginAttempts,
    MemoryLoginAttempts,
    RedisLoginAttempts,
)
from tucano_auth.adapters.clock import SystemClock
from tucano_auth.adapters.crypto import Es256KeyMaterial, KeySealer, SealError
from tucano_auth.adapters.passwords import Argon2Hasher
from tucano_auth.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_auth.adapters.postgres.accounts import PostgresAuthStore
from tucano_auth.adapters.postgres.keys import PostgresKeyRepository
from tucano_auth.adapters.tenants_client import GrpcTenants
from tucano_auth.adapters.tokens import TokenSigner
from tucano_auth.application import keys
from tucano_auth.application.accounts import Deps
from tucano_auth.domain.users import normalize_email
from tucano_auth.entrypoints.amqp import tenant_events
from tucano_auth.entrypoints.grpc.policy import POLICY
from tucano_auth.entrypoints.grpc.servicer import AuthServicer
from tucano_auth.settings import AuthSettings


class LocalJwks:
    """The verifier's key source inside auth itself: the repository, no network hop."""

    def __init__(self, repository: PostgresKeyRepository, ttl: timedelta):
        self._repository, self._ttl = repository, ttl

    async def fetch(self) -> list[dict[str, Any]]:
        published = await keys.published_keys(self._repository, SystemClock(), self._ttl)
        return [k.public_jwk for k in published]


@dataclass
class App:
    server: GrpcServer
    pool: asyncpg.Pool
    signer: TokenSigner
    deps: Deps


async def open_pool(settings: AuthSettings, stack: contextlib.AsyncExitStack) -> asyncpg.Pool:
    return await open_database(
        stack, setting="TUCANO_AUTH_DATABASE_URL", dsn=settings.database_url, schema=SCHEMA,
        migrations=MIGRATIONS, application_name="tucano-auth",
        timeout_s=settings.dependency_timeout_s)


async def build(settings: AuthSettings, stack: contextlib.AsyncExitStack) -> App:
    sealer = KeySealer(settings.kek_bytes)
    pool = await open_pool(settings, stack)
    redis = await open_redis(stack, settings)
    repository = PostgresKeyRepository(pool)
    await keys.ensure_active_key(repository, Es256KeyMaterial(sealer))
    ttl = timedelta(seconds=settings.access_token_ttl_s)
    signer = TokenSigner(repository, sealer, issuer=settings.jwt_issuer,
                         audience=settings.jwt_audience, ttl_s=settings.access_token_ttl_s)
    try:
        await signer.reload()
    except SealError as exc:
        raise ConfigError(f"TUCANO_AUTH_KEY_ENCRYPTION_KEY: {exc}") from None
    tenants_channel = grpc.aio.insecure_channel(settings.tenants_grpc_target)
    stack.push_async_callback(tenants_channel.close)
    deps = Deps(
        store=PostgresAuthStore(pool),
        hasher=Argon2Hasher(settings.password_hash_concurrency),
        tenants=GrpcTenants(tenants_channel, signer),
        tokens=signer,
        attempts=FallbackLoginAttempts(RedisLoginAttempts(redis), MemoryLoginAttempts()),
        clock=SystemClock())
    amqp = await open_amqp(stack, settings, "tucano-auth")
    await stack.enter_async_context(background(
        "auth-tenant-events", lambda: tenant_events.run(amqp, deps.store)))
    verifier = TokenVerifier(LocalJwks(repository, ttl), issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience)
    server = GrpcServer(
        domain="auth.tucano", policy=POLICY, verifier=verifier,
        host=settings.grpc_host, port=settings.grpc_port,
        gate=CachedTenantGate(GrpcTenantStanding(tenants_channel)),
        bindings=[ServiceBinding(auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
                                 auth_pb2_grpc.add_AuthServiceServicer_to_server,
                                 AuthServicer(deps, repository, ttl, settings.clients))])
    return App(server=server, pool=pool, signer=signer, deps=deps)


async def rotate_keys(settings: AuthSettings, args: list[str] | None = None) -> None:
    """`tucano-auth rotate-keys`: activate a new signing key; the old one stays published."""
    async with contextlib.AsyncExitStack() as stack:
        pool = await open_pool(settings, stack)
        kid = await keys.rotate_key(PostgresKeyRepository(pool),
                                    Es256KeyMaterial(KeySealer(settings.kek_bytes)),
                                    settings.key_publish_lead_s)
        print(f"new signing key {kid} is published; it signs tokens in "
              f"{settings.key_publish_lead_s:g}s")


async def set_platform_operator(settings: AuthSettings, args: list[str]) -> None:
    """`tucano-auth platform-operator EMAIL on|off`: platform operators list, suspend and
    reactivate tenants and change plans; only someone with database access can make one."""
    if len(args) != 2 or args[1] not in ("on", "off"):
        raise ConfigError("usage: tucano-auth platform-operator EMAIL on|off")
    async with contextlib.AsyncExitStack() as stack:
        pool = await open_pool(settings, stack)
        async with PostgresAuthStore(pool).transaction() as tx:
            found = await tx.set_platform_operator(normalize_email(args[0]), args[1] == "on")
    if not found:
        raise ConfigError(f"no user with email {args[0]}")
    print(f"{args[0]}: platform operator {args[1]}")
