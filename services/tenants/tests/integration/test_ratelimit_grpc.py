"""Envoy's RateLimitService on the real tenants server (its composition root, port 0), the real
database and a real Redis: called exactly as Envoy calls it (no token, raw envoy_rls_pb2)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from tucano.vendor import envoy_rls_pb2, envoy_rls_pb2_grpc
from tucano_kit.auth import Access
from tucano_kit.settings import load_settings
from tucano_kit.testing import TokenFactory, migrated_service_dsn, serve_app
from tucano_tenants.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_tenants.bootstrap import build
from tucano_tenants.entrypoints.grpc.policy import POLICY
from tucano_tenants.settings import TenantsSettings

pytestmark = pytest.mark.integration

Stub = envoy_rls_pb2_grpc.RateLimitServiceStub
Response = envoy_rls_pb2.RateLimitResponse
OK, OVER = Response.OK, Response.OVER_LIMIT
SECOND, MINUTE = Response.RateLimit.SECOND, Response.RateLimit.MINUTE
LOGGER = "tucano.tenants.ratelimit"


@pytest.fixture(scope="module")
async def service_dsn(admin_url: str, test_database: str) -> str:
    return await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_tenants",
                                      MIGRATIONS)


@contextlib.asynccontextmanager
async def rls_server(dsn: str, redis_url: str, tokens: TokenFactory,
                     **settings: Any) -> AsyncIterator[Stub]:
    loaded = load_settings(TenantsSettings, database_url=dsn, grpc_port=0, redis_url=redis_url,
                           **settings)
    async with serve_app(build, loaded, verifier=tokens.verifier()) as (_, channel):
        yield Stub(channel)


@pytest.fixture(scope="module")
async def rls(service_dsn: str, ratelimit_redis_url: str, tokens: TokenFactory
              ) -> AsyncIterator[Stub]:
    async with rls_server(service_dsn, ratelimit_redis_url, tokens, ratelimit_limits_ttl_s=1.0,
                          ratelimit_redis_timeout_s=0.25) as stub:
        yield stub


@pytest.fixture(scope="module")
async def admin(admin_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(admin_dsn)
    yield conn
    await conn.close()


async def new_tenant(admin: asyncpg.Connection, plan: str = "free", **overrides: int) -> str:
    tenant_id = uuid.uuid4()
    await admin.execute("INSERT INTO tenants.tenants (id, name, plan_id)"
                        " VALUES ($1, 'Rate limit test', $2)", tenant_id, plan)
    for limit, value in overrides.items():
        await admin.execute(f"UPDATE tenants.tenants SET {limit}_override = $2 WHERE id = $1",
                            tenant_id, value)
    return str(tenant_id)


def request(*descriptors: tuple[tuple[str, str], ...], hits: int = 0, domain: str = "tucano"
            ) -> envoy_rls_pb2.RateLimitRequest:
    return envoy_rls_pb2.RateLimitRequest(domain=domain, hits_addend=hits, descriptors=[
        envoy_rls_pb2.RateLimitDescriptor(entries=[
            envoy_rls_pb2.RateLimitDescriptor.Entry(key=k, value=v) for k, v in d])
        for d in descriptors])


async def ask(stub: Stub, *descriptors: tuple[tuple[str, str], ...], hits: int = 0,
              domain: str = "tucano") -> Response:
    """One call as Envoy makes it: no token; it must answer within its deadline."""
    response: Response = await stub.ShouldRateLimit(
        request(*descriptors, hits=hits, domain=domain), timeout=1.0)
    return response


def api(tenant: str) -> tuple[tuple[str, str], ...]:
    return (("tenant", tenant),)


def heavy(tenant: str, route: str) -> tuple[tuple[str, str], ...]:
    return (("tenant", tenant), ("route", route))


def sign_in(address: str) -> tuple[tuple[str, str], ...]:
    return (("route", "auth"), ("remote_address", address))


def random_address() -> str:
    """A client address no earlier run used (counters of a run live on for a minute)."""
    return str(ipaddress.IPv6Address(uuid.uuid4().int))


def headers(response: Response) -> dict[str, str]:
    return {h.key: h.value for h in response.response_headers_to_add}


def limit(status: Response.DescriptorStatus) -> tuple[int, int, int, int]:
    return (status.code, status.current_limit.requests_per_unit, status.current_limit.unit,
            status.limit_remaining)


def test_envoy_calls_it_without_a_token_and_the_edge_never_routes_it() -> None:
    access = POLICY["/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit"]
    assert access == Access.internal()
    assert not access.edge


async def test_one_status_per_descriptor_in_order(rls: Stub, admin: asyncpg.Connection) -> None:
    tenant = await new_tenant(admin)
    response = await ask(rls, api(tenant), heavy(tenant, "import"), sign_in(random_address()),
                         (("generic_key", "anything"),))
    assert response.overall_code == OK
    assert [limit(s) for s in response.statuses] == [
        (OK, 5, SECOND, 4),  # free plan: 5/s is tighter than 100/min here
        (OK, 10, MINUTE, 9),
        (OK, 20, MINUTE, 19),
        (OK, 0, 0, 0)]  # not ours: OK, no limit
    assert not response.statuses[3].HasField("current_limit")
    assert 0 < response.statuses[0].duration_until_reset.ToMilliseconds() <= 1000
    assert 0 < response.statuses[1].duration_until_reset.ToMilliseconds() <= 60_000
    assert headers(response) == {}


async def test_a_tenant_above_its_plan_is_refused_while_another_is_served(
        rls: Stub, admin: asyncpg.Connection) -> None:
    a, b = await new_tenant(admin), await new_tenant(admin)
    *flood, other = await asyncio.gather(*[ask(rls, api(a)) for _ in range(40)], ask(rls, api(b)))
    assert other.overall_code == OK
    assert headers(other) == {}
    refused = [r for r in flood if r.overall_code == OVER]
    assert refused, "40 concurrent requests at a 5/s plan were all allowed"
    assert sum(r.overall_code == OK for r in flood) >= 5
    for response in refused:
        assert limit(response.statuses[0]) == (OVER, 5, SECOND, 0)
        assert headers(response) == {"retry-after": "1"}


async def test_raising_a_tenants_plan_takes_effect_within_seconds(
        rls: Stub, admin: asyncpg.Connection) -> None:
    a = await new_tenant(admin)
    refused = await ask(rls, api(a), hits=6)  # 6 at once never fit in free's 5/s
    assert limit(refused.statuses[0]) == (OVER, 5, SECOND, 5)  # refused: nothing taken
    await admin.execute("UPDATE tenants.tenants SET plan_id = 'starter' WHERE id = $1",
                        uuid.UUID(a))
    async with asyncio.timeout(10):  # the cache lives 1 s here (3 s by default)
        while True:
            response = await ask(rls, api(a), hits=6)
            if response.overall_code == OK:
                break
            await asyncio.sleep(0.1)
    assert limit(response.statuses[0]) == (OK, 20, SECOND, 14)


async def test_an_operators_override_beats_the_plan(rls: Stub, admin: asyncpg.Connection) -> None:
    a = await new_tenant(admin, "business", api_requests_per_minute=2)
    for attempt in range(3):  # again only if a minute boundary fell between the calls
        assert (await ask(rls, api(a), hits=2)).overall_code == OK or attempt
        response = await ask(rls, api(a))
        if response.overall_code == OVER:
            break
    assert limit(response.statuses[0]) == (OVER, 2, MINUTE, 0)
    assert 1 <= int(headers(response)["retry-after"]) <= 60


async def exhaust(stub: Stub, make: Any, limit_per_minute: int) -> Response:
    """Use a fresh key's whole minute, then ask once more; fresh again if the minute rolled."""
    for _ in range(3):
        descriptor = make()
        assert (await ask(stub, descriptor, hits=limit_per_minute)).overall_code == OK
        response = await ask(stub, descriptor)
        if response.overall_code == OVER:
            return response
    raise AssertionError("never refused")


async def test_heavy_routes_are_limited_per_tenant_apart_from_the_plan(
        rls: Stub, admin: asyncpg.Connection) -> None:
    tenants: list[str] = []

    def imports() -> tuple[tuple[str, str], ...]:
        tenants.append(str(uuid.uuid4()))
        return heavy(tenants[-1], "import")

    refused = await exhaust(rls, imports, 10)
    assert limit(refused.statuses[0]) == (OVER, 10, MINUTE, 0)
    assert 1 <= int(headers(refused)["retry-after"]) <= 60
    a = tenants[-1]
    assert (await ask(rls, heavy(a, "launch"))).overall_code == OK
    assert (await ask(rls, heavy(str(uuid.uuid4()), "import"))).overall_code == OK
    launches = await exhaust(rls, lambda: heavy(str(uuid.uuid4()), "launch"), 30)
    assert limit(launches.statuses[0]) == (OVER, 30, MINUTE, 0)


async def test_sign_in_is_limited_per_client_address(rls: Stub) -> None:
    def address() -> tuple[tuple[str, str], ...]:
        return sign_in(random_address())

    refused = await exhaust(rls, address, 20)
    assert limit(refused.statuses[0]) == (OVER, 20, MINUTE, 0)
    assert "retry-after" in headers(refused)
    assert (await ask(rls, address())).overall_code == OK


async def test_other_domains_and_unknown_tenants(rls: Stub) -> None:
    stranger = str(uuid.uuid4())
    ignored = await ask(rls, api(stranger), hits=1000, domain="not-tucano")
    assert ignored.overall_code == OK
    assert not ignored.statuses[0].HasField("current_limit")
    unknown = await ask(rls, api(stranger), hits=6)  # no such tenant: the free plan
    assert limit(unknown.statuses[0]) == (OVER, 5, SECOND, 5)
    malformed = await ask(rls, api("not-a-uuid"))
    assert limit(malformed.statuses[0]) == (OK, 5, SECOND, 4)


async def import_counts_in(url: str, tenant: str) -> int:
    """The tenant's import count in that Redis (a fresh client: the server may be new)."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"rl:tenant:{tenant}:import:*")]
        return sum(int(v) for v in await client.mget(keys)) if keys else 0
    finally:
        await client.aclose()


async def test_redis_outage_keeps_answering_and_limiting_then_sharing_resumes(
        service_dsn: str, tokens: TokenFactory, private_redis: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with rls_server(service_dsn, private_redis.url, tokens, ratelimit_processes=2,
                          ratelimit_redis_timeout_s=0.1, ratelimit_probe_interval_s=0.2,
                          ratelimit_imports_per_minute=10) as stub:
        before = str(uuid.uuid4())
        assert (await ask(stub, heavy(before, "import"))).overall_code == OK
        assert await import_counts_in(private_redis.url, before) == 1

        await private_redis.kill()
        during = str(uuid.uuid4())
        answers = [await ask(stub, heavy(during, "import")) for _ in range(20)]
        allowed = sum(r.overall_code == OK for r in answers)
        assert 5 <= allowed <= 10  # this process's share (10 / 2 processes) per minute window
        refused = [r for r in answers if r.overall_code == OVER]
        assert limit(refused[0].statuses[0]) == (OVER, 5, MINUTE, 0)
        assert "retry-after" in headers(refused[0])

        await private_redis.start()
        async with asyncio.timeout(10):  # until a call has gone through the new Redis
            while True:
                probe = str(uuid.uuid4())
                await ask(stub, heavy(probe, "import"))
                if await import_counts_in(private_redis.url, probe):
                    break
                await asyncio.sleep(0.05)
        after = str(uuid.uuid4())
        answers = [await ask(stub, heavy(after, "import")) for _ in range(12)]
        allowed = sum(r.overall_code == OK for r in answers)
        assert allowed >= 10  # the whole limit, not a share
        assert await import_counts_in(private_redis.url, after) == allowed  # counted in Redis
    assert [r.levelname for r in caplog.records if r.name == LOGGER] == ["WARNING", "INFO"]
