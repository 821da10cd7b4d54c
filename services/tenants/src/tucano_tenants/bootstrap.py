"""Composition root of the tenants service: the only module that knows concrete classes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import asyncpg
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano.vendor import envoy_rls_pb2, envoy_rls_pb2_grpc
from tucano_kit.auth import TokenVerifier
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.runtime import (
    CachedTenantGate,
    open_amqp,
    open_database,
    open_redis,
    remote_verifier,
    start_outbox_relay,
)

from tucano_tenants.adapters.memory.ratelimit import FallbackCounter, InProcessCounter
from tucano_tenants.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_tenants.adapters.postgres.plans import PostgresPlanCatalogue
from tucano_tenants.adapters.postgres.tenants import (
    LocalTenantStanding,
    PostgresLimitsSource,
    PostgresTenantAdmin,
    PostgresTenantRepository,
)
from tucano_tenants.adapters.redis.ratelimit import RedisCounter, limiter_client
from tucano_tenants.application.ratelimit import RateLimiter, TenantLimits
from tucano_tenants.domain.ratelimit import RouteLimits
from tucano_tenants.entrypoints.grpc.policy import POLICY
from tucano_tenants.entrypoints.grpc.ratelimit import RateLimitServicer
from tucano_tenants.entrypoints.grpc.servicer import TenantsServicer
from tucano_tenants.settings import TenantsSettings


@dataclass
class App:
    server: GrpcServer
    pool: asyncpg.Pool


async def build(settings: TenantsSettings, stack: contextlib.AsyncExitStack,
                verifier: TokenVerifier | None = None) -> App:
    pool = await open_database(
        stack, setting="TUCANO_TENANTS_DATABASE_URL", dsn=settings.database_url, schema=SCHEMA,
        migrations=MIGRATIONS, application_name="tucano-tenants",
        timeout_s=settings.dependency_timeout_s)
    verifier = verifier or await remote_verifier(stack, settings)
    amqp = await open_amqp(stack, settings, "tucano-tenants")
    await start_outbox_relay(stack, pool, amqp, SCHEMA)
    tenant_admin = PostgresTenantAdmin(pool)
    servicer = TenantsServicer(PostgresPlanCatalogue(pool), PostgresTenantRepository(pool),
                               tenant_admin)
    rate_limits = RateLimitServicer(await open_rate_limiter(settings, stack, pool))
    server = GrpcServer(
        domain="tenants.tucano", policy=POLICY, verifier=verifier,
        host=settings.grpc_host, port=settings.grpc_port,
        gate=CachedTenantGate(LocalTenantStanding(tenant_admin)),
        bindings=[ServiceBinding(tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"],
                                 tenants_pb2_grpc.add_TenantsServiceServicer_to_server,
                                 servicer),
                  ServiceBinding(envoy_rls_pb2.DESCRIPTOR.services_by_name["RateLimitService"],
                                 envoy_rls_pb2_grpc.add_RateLimitServiceServicer_to_server,
                                 rate_limits)])
    return App(server=server, pool=pool)


async def open_rate_limiter(settings: TenantsSettings, stack: contextlib.AsyncExitStack,
                            pool: asyncpg.Pool) -> RateLimiter:
    """Envoy's rate-limit service: counters in Redis, this process's share of each limit in
    memory while Redis does not answer; plan limits from the database, cached briefly."""
    # Redis must answer at start (a one-line ConfigError naming TUCANO_REDIS_URL otherwise);
    # the limiter then uses its own client, whose timeouts fit Envoy's ~100 ms budget.
    await open_redis(stack, settings)
    client = limiter_client(settings.redis_url, settings.ratelimit_redis_timeout_s)
    stack.push_async_callback(client.aclose)
    counter = FallbackCounter(
        RedisCounter(client, deadline_s=2 * settings.ratelimit_redis_timeout_s),
        InProcessCounter(), processes=settings.ratelimit_processes,
        probe_interval_s=settings.ratelimit_probe_interval_s)
    limits = TenantLimits(PostgresLimitsSource(pool), PostgresPlanCatalogue(pool),
                          ttl_s=settings.ratelimit_limits_ttl_s)
    routes = RouteLimits(
        imports_per_minute=settings.ratelimit_imports_per_minute,
        launches_per_minute=settings.ratelimit_launches_per_minute,
        sign_ins_per_address_per_minute=settings.ratelimit_auth_per_ip_per_minute)
    return RateLimiter(limits, counter, routes)
