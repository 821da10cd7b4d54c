"""Rate-limit counters on a real Redis: atomic under concurrency, and what happens when Redis
dies, freezes or black-holes (each call still returns within its timeout, limiting goes on
from this process's share, one warning, one recovery line)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from tucano_tenants.adapters.memory.ratelimit import FallbackCounter, InProcessCounter
from tucano_tenants.adapters.redis.ratelimit import RedisCounter, key, limiter_client
from tucano_tenants.application.ratelimit import RateLimitCheck, RateLimiter, TenantLimits
from tucano_tenants.domain.plans import Limits, Plan
from tucano_tenants.domain.ratelimit import RouteLimits, Slot, Unit, Window

pytestmark = pytest.mark.integration

LOGGER = "tucano.tenants.ratelimit"
ROUTES = RouteLimits(imports_per_minute=10, launches_per_minute=30,
                     sign_ins_per_address_per_minute=20)


class EveryTenant:
    """A limits source that gives every tenant the same limits."""

    def __init__(self, per_second: int, per_minute: int):
        self.value = Limits(plan_id="test", api_requests_per_second=per_second,
                            api_requests_per_minute=per_minute, monthly_message_quota=0,
                            max_contacts=0)

    async def limits(self, tenant_id: uuid.UUID) -> Limits | None:
        return self.value


class NoPlans:
    async def list(self) -> list[Plan]:
        raise AssertionError("every tenant exists here")


@pytest.fixture
async def shared(ratelimit_redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = limiter_client(ratelimit_redis_url, 0.5)
    yield client
    await client.aclose()


async def test_concurrent_requests_allow_exactly_the_limit(shared: aioredis.Redis) -> None:
    counter, now = RedisCounter(shared, deadline_s=2.0), time.time()
    slots = [Slot(f"tenant:{uuid.uuid4()}", Window(5, Unit.SECOND)),
             Slot(f"tenant:{uuid.uuid4()}", Window(100, Unit.MINUTE))]
    results = await asyncio.gather(*(counter.consume(slots, 1, now) for _ in range(50)))
    assert sum(r.allowed for r in results) == 5
    assert sorted(r.usages[0].count for r in results if r.allowed) == [1, 2, 3, 4, 5]
    assert int(await shared.get(key(slots[0], now))) == 5
    assert int(await shared.get(key(slots[1], now))) == 5
    assert 0 < await shared.pttl(key(slots[1], now)) <= 62_000  # gone soon after its window


async def test_a_refusal_by_one_window_consumes_nothing_from_the_others(
        shared: aioredis.Redis) -> None:
    counter, now = RedisCounter(shared, deadline_s=2.0), time.time()
    rule = f"tenant:{uuid.uuid4()}"
    second, minute = Slot(rule, Window(100, Unit.SECOND)), Slot(rule, Window(3, Unit.MINUTE))
    results = [await counter.consume([second, minute], 1, now) for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [u.count for u in results[-1].usages] == [3, 3]
    assert int(await shared.get(key(second, now))) == 3


def limiter_on(url: str, *, processes: int, now: float, timeout_s: float = 0.25
               ) -> tuple[RateLimiter, FallbackCounter, aioredis.Redis]:
    client = limiter_client(url, timeout_s)
    counter = FallbackCounter(RedisCounter(client, deadline_s=2 * timeout_s), InProcessCounter(),
                              processes=processes, probe_interval_s=0.1)
    limits = TenantLimits(EveryTenant(per_second=1000, per_minute=10), NoPlans())
    return RateLimiter(limits, counter, ROUTES, clock=lambda: now), counter, client


async def allowed_of(limiter: RateLimiter, tenant: str, calls: int) -> int:
    """How many of `calls` sequential checks pass; each must return within a second."""
    allowed = 0
    for _ in range(calls):
        async with asyncio.timeout(1.0):
            decision = await limiter.check(RateLimitCheck("tucano", ((("tenant", tenant),),)))
        allowed += not decision.over_limit
    return allowed


async def recovered(limiter: RateLimiter, counter: FallbackCounter) -> None:
    """Wait (bounded) until a check has gone through Redis again."""
    async with asyncio.timeout(10):
        while counter.degraded:
            await allowed_of(limiter, str(uuid.uuid4()), 1)
            await asyncio.sleep(0.05)


def minute_count_key(tenant: str, now: float) -> str:
    return key(Slot(f"tenant:{tenant}", Window(10, Unit.MINUTE)), now)


async def test_redis_killed_mid_test_limits_locally_then_shares_again(
        private_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    now = time.time()
    limiter, counter, client = limiter_on(private_redis.url, processes=2, now=now)
    try:
        before = str(uuid.uuid4())
        assert await allowed_of(limiter, before, 3) == 3
        assert int(await client.get(minute_count_key(before, now))) == 3

        await private_redis.kill()
        during = str(uuid.uuid4())
        assert await allowed_of(limiter, during, 30) == 5  # this process's share of 10
        assert counter.degraded

        await private_redis.start()
        await recovered(limiter, counter)
        after = str(uuid.uuid4())
        assert await allowed_of(limiter, after, 30) == 10  # the whole limit, shared again
        assert int(await client.get(minute_count_key(after, now))) == 10
    finally:
        await client.aclose()
    records = [(r.levelname, r.getMessage().split(";")[0]) for r in caplog.records
               if r.name == LOGGER]
    assert records == [("WARNING", "rate-limit counters unreachable"),
                       ("INFO", "rate-limit counters reachable again")]


async def test_a_frozen_redis_is_detected_by_timeout_and_limiting_continues(
        private_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    now = time.time()
    limiter, counter, client = limiter_on(private_redis.url, processes=1, now=now)
    try:
        assert await allowed_of(limiter, str(uuid.uuid4()), 2) == 2  # a pooled connection
        pid = private_redis.pid
        os.kill(pid, signal.SIGSTOP)  # connections stay open; nothing answers on them
        try:
            assert await allowed_of(limiter, str(uuid.uuid4()), 30) == 10
            assert counter.degraded
        finally:
            os.kill(pid, signal.SIGCONT)
        await recovered(limiter, counter)
    finally:
        await client.aclose()
    assert [r.levelname for r in caplog.records if r.name == LOGGER] == ["WARNING", "INFO"]


async def test_a_black_holed_redis_costs_a_timeout_not_a_hang(
        black_hole: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter, counter, client = limiter_on(black_hole, processes=2, now=time.time())
    try:
        assert await allowed_of(limiter, str(uuid.uuid4()), 30) == 5
        assert counter.degraded
    finally:
        await client.aclose()
    assert [r.levelname for r in caplog.records if r.name == LOGGER] == ["WARNING"]
