"""Building blocks for a service's composition root (its `bootstrap.py`).

Each opens one dependency inside the service's AsyncExitStack, fails fast with a one-line
ConfigError naming the setting when it cannot, and registers the matching close, so shutdown
happens in reverse order of start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import grpc.aio
import redis.asyncio as aioredis
from aio_pika.abc import AbstractRobustConnection
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc

from tucano_kit.amqp.connection import connect as amqp_connect
from tucano_kit.amqp.outbox import OutboxRelay
from tucano_kit.amqp.publisher import Publisher
from tucano_kit.amqp.topology import declare_topology
from tucano_kit.auth import UNKNOWN_TENANT, TenantStanding, TokenVerifier
from tucano_kit.errors import Unavailable
from tucano_kit.grpc.server import GrpcServer
from tucano_kit.lifecycle import background, connect_or_fail, stop_event
from tucano_kit.postgres.migrations import pending, service_migrations
from tucano_kit.postgres.pool import check_role_is_safe, create_pool
from tucano_kit.settings import BaseServiceSettings, ConfigError

log = logging.getLogger("tucano.runtime")


async def open_database(stack: contextlib.AsyncExitStack, *, setting: str, dsn: str,
                        schema: str, migrations: Path, application_name: str,
                        timeout_s: float, max_size: int = 10) -> asyncpg.Pool:
    """A pool for the service's own role, after checking the role is safe and migrated."""
    pool = await connect_or_fail(setting, dsn, timeout_s, lambda: create_pool(
        dsn, application_name=application_name, max_size=max_size))
    stack.push_async_callback(pool.close)
    await check_role_is_safe(pool, setting)
    missing = await pending(dsn, schema, service_migrations(migrations))
    if missing:
        raise ConfigError(f"{setting}: schema {schema} is not migrated (pending: "
                          f"{', '.join(missing)}); run the service's `migrate` command")
    return pool


async def open_amqp(stack: contextlib.AsyncExitStack, settings: BaseServiceSettings,
                    name: str) -> AbstractRobustConnection:
    connection = await connect_or_fail(
        "TUCANO_AMQP_URL", settings.amqp_url, settings.dependency_timeout_s,
        lambda: amqp_connect(settings.amqp_url, name=name, timeout_s=settings.dependency_timeout_s))
    stack.push_async_callback(connection.close)
    await declare_topology(connection)  # idempotent; a service never depends on start order
    return connection


async def open_redis(stack: contextlib.AsyncExitStack, settings: BaseServiceSettings
                     ) -> aioredis.Redis:
    client = aioredis.Redis.from_url(
        settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0,
        health_check_interval=10)
    await connect_or_fail("TUCANO_REDIS_URL", settings.redis_url, settings.dependency_timeout_s,
                          client.ping)
    stack.push_async_callback(client.aclose)
    return client


async def start_outbox_relay(stack: contextlib.AsyncExitStack, pool: asyncpg.Pool,
                             connection: AbstractRobustConnection, schema: str) -> OutboxRelay:
    publisher = await Publisher.open(connection)
    stack.push_async_callback(publisher.close)
    relay = OutboxRelay(pool, publisher, schema=schema)
    await stack.enter_async_context(background(f"outbox-relay-{schema}", relay.run))
    return relay


class GrpcJwksSource:
    """Fetches the public keys from the auth service's GetJwks RPC."""

    def __init__(self, channel: grpc.aio.Channel, timeout_s: float = 2.0):
        self._stub = auth_pb2_grpc.AuthServiceStub(channel)
        self._timeout = timeout_s

    async def fetch(self) -> list[dict[str, Any]]:
        try:
            response = await self._stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise Unavailable("AUTH_UNAVAILABLE", "cannot fetch signing keys") from exc
        return [{"kty": k.kty, "crv": k.crv, "x": k.x, "y": k.y, "kid": k.kid, "use": k.use,
                 "alg": k.alg} for k in response.keys]


async def remote_verifier(stack: contextlib.AsyncExitStack,
                          settings: BaseServiceSettings) -> TokenVerifier:
    """A verifier that trusts the auth service's published keys."""
    channel = grpc.aio.insecure_channel(settings.auth_grpc_target)
    stack.push_async_callback(channel.close)
    return TokenVerifier(GrpcJwksSource(channel), issuer=settings.jwt_issuer,
                         audience=settings.jwt_audience)


async def serve_until_stopped(server: GrpcServer, grace_s: float,
                              stopping: asyncio.Event | None = None) -> None:
    """Start `server`, wait for SIGTERM/SIGINT, then stop gracefully."""
    stopping = stopping or stop_event()
    await server.start()
    await stopping.wait()
    log.info("stopping", extra={"grace_s": grace_s})
    await server.stop(grace_s)


STATE_NAMES = {0: "unknown", 1: "active", 2: "suspended", 3: "closed"}


class CachedTenantGate:
    """A TenantGate over any `fetch(tenant_id) -> TenantStanding`, cached for `ttl_s` so a
    suspension, a close or a plan change takes effect within seconds without a lookup per
    request. When the source fails, the last known standing is used (with none, the call fails
    UNAVAILABLE)."""

    def __init__(self, fetch: Callable[[str], Awaitable[TenantStanding]], ttl_s: float = 5.0):
        self._fetch, self._ttl = fetch, ttl_s
        self._cache: dict[str, tuple[TenantStanding, float]] = {}

    async def standing(self, tenant_id: str) -> TenantStanding:
        cached = self._cache.get(tenant_id)
        now = time.monotonic()
        if cached and now - cached[1] < self._ttl:
            return cached[0]
        try:
            standing = await self._fetch(tenant_id)
        except Unavailable:
            if cached:
                return cached[0]
            raise
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[tenant_id] = (standing, now)
        return standing


class GrpcTenantStanding:
    """The tenants service's GetTenantStanding, as a CachedTenantGate source."""

    def __init__(self, channel: grpc.aio.Channel, timeout_s: float = 2.0):
        self._stub = tenants_pb2_grpc.TenantsServiceStub(channel)
        self._timeout = timeout_s

    async def __call__(self, tenant_id: str) -> TenantStanding:
        try:
            reply = await self._stub.GetTenantStanding(
                tenants_pb2.GetTenantStandingRequest(tenant_id=tenant_id), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return UNKNOWN_TENANT
            raise Unavailable("TENANTS_UNAVAILABLE", "cannot check the tenant") from exc
        return TenantStanding(
            state=STATE_NAMES.get(reply.state, "unknown"),
            max_contacts=reply.limits.max_contacts,
            monthly_message_quota=reply.limits.monthly_message_quota,
            default_country=reply.default_country)


async def remote_tenant_gate(stack: contextlib.AsyncExitStack,
                             settings: BaseServiceSettings) -> CachedTenantGate:
    channel = grpc.aio.insecure_channel(settings.tenants_grpc_target)
    stack.push_async_callback(channel.close)
    return CachedTenantGate(GrpcTenantStanding(channel))
