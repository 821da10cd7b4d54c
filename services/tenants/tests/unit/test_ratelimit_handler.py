"""The ShouldRateLimit handler with fakes: a counter, a limits source, a plan catalogue, clocks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
from tucano_tenants.application.ratelimit import RateLimitCheck, RateLimiter, TenantLimits
from tucano_tenants.domain.plans import Limits, Plan
from tucano_tenants.domain.ratelimit import (
    Consumption,
    Entries,
    RouteLimits,
    Slot,
    Unit,
    Usage,
)


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeCounter:
    """Fixed windows in a dict; all slots or none, like the real ones."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, Unit, int], int] = {}
        self.calls: list[list[Slot]] = []

    async def consume(self, slots: Sequence[Slot], hits: int, now: float) -> Consumption:
        self.calls.append(list(slots))
        keys = [(s.rule, s.window.unit, s.window.index(now)) for s in slots]
        counts = [self.counts.get(k, 0) for k in keys]
        allowed = all(c + hits <= s.window.limit for s, c in zip(slots, counts, strict=True))
        if allowed:
            counts = [c + hits for c in counts]
            self.counts.update(zip(keys, counts, strict=True))
        return Consumption(allowed, tuple(Usage(s, c) for s, c in zip(slots, counts, strict=True)))


class FakeLimitsSource:
    def __init__(self) -> None:
        self.limits_by_tenant: dict[uuid.UUID, Limits] = {}
        self.lookups = 0
        self.failing = False
        self.gate: asyncio.Event | None = None

    async def limits(self, tenant_id: uuid.UUID) -> Limits | None:
        self.lookups += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failing:
            raise ConnectionError("database unreachable")
        return self.limits_by_tenant.get(tenant_id)


PLANS = [Plan("free", "Free", 5, 100, 1000, 1000), Plan("starter", "Starter", 20, 600, 1, 1),
         Plan("business", "Business", 200, 6000, 1, 1)]


class FakePlans:
    async def list(self) -> list[Plan]:
        return PLANS


def limits(plan: Plan, **overrides: int) -> Limits:
    values = {"api_requests_per_second": plan.api_requests_per_second,
              "api_requests_per_minute": plan.api_requests_per_minute, **overrides}
    return Limits(plan_id=plan.id, monthly_message_quota=1, max_contacts=1, **values)


ROUTES = RouteLimits(imports_per_minute=10, launches_per_minute=30,
                     sign_ins_per_address_per_minute=20)
NOW = 1_700_000_040.25  # 0.25 s into a minute


class World:
    def __init__(self) -> None:
        self.source, self.counter = FakeLimitsSource(), FakeCounter()
        self.cache_clock, self.clock = Clock(0.0), Clock(NOW)
        self.cache = TenantLimits(self.source, FakePlans(), ttl_s=3.0, clock=self.cache_clock)
        self.limiter = RateLimiter(self.cache, self.counter, ROUTES, clock=self.clock)

    def tenant(self, plan: Plan = PLANS[0], **overrides: int) -> str:
        tid = uuid.uuid4()
        self.source.limits_by_tenant[tid] = limits(plan, **overrides)
        return str(tid)

    async def check(self, *descriptors: Entries, hits: int = 0, domain: str = "tucano"
                    ) -> tuple[bool, list[tuple[bool, int, Unit, int] | None], int | None]:
        decision = await self.limiter.check(RateLimitCheck(domain, descriptors, hits))
        return (decision.over_limit,
                [None if v is None else (v.over_limit, v.window.limit, v.window.unit,
                                         v.remaining) for v in decision.statuses],
                decision.retry_after_s)


def api(tenant: str) -> Entries:
    return (("tenant", tenant),)


async def test_a_tenant_over_its_per_second_limit_is_refused_while_another_is_not() -> None:
    world = World()
    a, b = world.tenant(), world.tenant()
    results = [await world.check(api(a)) for _ in range(6)]
    assert [r[0] for r in results] == [False] * 5 + [True]
    assert results[4][1] == [(False, 5, Unit.SECOND, 0)]
    assert results[5] == (True, [(True, 5, Unit.SECOND, 0)], 1)
    assert await world.check(api(b)) == (False, [(False, 5, Unit.SECOND, 4)], None)


async def test_a_request_refused_by_the_minute_window_takes_nothing_from_the_second() -> None:
    world = World()
    a = world.tenant(api_requests_per_second=100, api_requests_per_minute=3)
    for _ in range(3):
        assert not (await world.check(api(a)))[0]
    refused = await world.check(api(a))
    assert refused == (True, [(True, 3, Unit.MINUTE, 0)], 60)  # 59.75 s left, rounded up
    second = (f"tenant:{a}", Unit.SECOND, int(NOW))
    assert world.counter.counts[second] == 3


async def test_a_plan_change_applies_once_the_cached_limits_expire() -> None:
    world = World()
    a = world.tenant()
    assert (await world.check(api(a), hits=6))[0]  # 6 > free's 5 per second
    world.source.limits_by_tenant[uuid.UUID(a)] = limits(PLANS[1])
    world.cache_clock.now = 2.9
    assert (await world.check(api(a), hits=6))[0]  # still cached
    world.cache_clock.now = 3.1
    assert await world.check(api(a), hits=6) == (False, [(False, 20, Unit.SECOND, 14)], None)


async def test_an_unknown_tenant_gets_the_most_restrictive_plan() -> None:
    world = World()
    for tenant in (str(uuid.uuid4()), "not-a-uuid"):
        over, statuses, _ = await world.check(api(tenant), hits=5)
        assert (over, statuses) == (False, [(False, 5, Unit.SECOND, 0)])
        assert (await world.check(api(tenant)))[0]
    assert world.source.lookups == 1  # the malformed id is not looked up


async def test_concurrent_checks_for_an_uncached_tenant_share_one_lookup() -> None:
    world = World()
    a = world.tenant()
    world.source.gate = asyncio.Event()
    checks = [asyncio.create_task(world.check(api(a))) for _ in range(20)]
    await asyncio.sleep(0)
    world.source.gate.set()
    results = await asyncio.gather(*checks)
    assert world.source.lookups == 1
    assert sum(not over for over, _, _ in results) == 5


async def test_a_failed_refresh_keeps_the_last_known_limits_and_retries_later() -> None:
    world = World()
    a = world.tenant(PLANS[1])
    await world.check(api(a))
    world.source.failing = True
    world.cache_clock.now = 10.0
    assert (await world.check(api(a)))[1] == [(False, 20, Unit.SECOND, 18)]
    assert world.source.lookups == 2
    await world.check(api(a))
    assert world.source.lookups == 2  # not retried on every request


async def test_with_no_known_limits_a_failed_lookup_is_an_error() -> None:
    world = World()
    a = world.tenant()
    world.source.failing = True
    with pytest.raises(ConnectionError):
        await world.check(api(a))


async def test_heavy_routes_are_limited_per_tenant_with_fixed_limits() -> None:
    world = World()
    a, b = world.tenant(), world.tenant()
    imports = (("tenant", a), ("route", "import"))
    for _ in range(10):
        assert not (await world.check(imports))[0]
    assert await world.check(imports) == (True, [(True, 10, Unit.MINUTE, 0)], 60)
    assert not (await world.check((("tenant", a), ("route", "launch"))))[0]
    assert not (await world.check((("tenant", b), ("route", "import"))))[0]


async def test_sign_in_is_limited_per_client_address() -> None:
    world = World()
    sign_in = (("route", "auth"), ("remote_address", "198.51.100.7"))
    assert not (await world.check(sign_in, hits=20))[0]
    assert (await world.check(sign_in))[0]
    assert not (await world.check((("route", "auth"), ("remote_address", "198.51.100.8"))))[0]


async def test_unknown_descriptors_and_domains_pass_and_are_not_counted() -> None:
    world = World()
    a = world.tenant()
    assert await world.check((("generic_key", "x"),)) == (False, [None], None)
    assert await world.check(api(a), domain="other") == (False, [None], None)
    assert world.counter.calls == []
    over, statuses, _ = await world.check((("generic_key", "x"),), api(a))
    assert (over, statuses) == (False, [None, (False, 5, Unit.SECOND, 4)])


async def test_one_refused_descriptor_refuses_the_request_and_counts_it_nowhere() -> None:
    world = World()
    a = world.tenant()
    imports = (("tenant", a), ("route", "import"))
    assert not (await world.check(api(a), imports, hits=5))[0]
    over, statuses, retry_after = await world.check(api(a), imports)
    assert (over, statuses, retry_after) == (
        True, [(True, 5, Unit.SECOND, 0), (False, 10, Unit.MINUTE, 5)], 1)
    assert world.counter.counts[(f"tenant:{a}:import", Unit.MINUTE, int(NOW // 60))] == 5


async def test_a_descriptor_sent_twice_counts_once_and_gets_two_statuses() -> None:
    world = World()
    a = world.tenant()
    over, statuses, _ = await world.check(api(a), api(a))
    assert (over, statuses) == (False, [(False, 5, Unit.SECOND, 4)] * 2)
    assert len(world.counter.calls[0]) == 2  # the tenant's two windows, once


async def test_hits_addend_zero_counts_one() -> None:
    world = World()
    a = world.tenant()
    await world.check(api(a), hits=0)
    await world.check(api(a), hits=3)
    assert world.counter.counts[(f"tenant:{a}", Unit.SECOND, int(NOW))] == 4

