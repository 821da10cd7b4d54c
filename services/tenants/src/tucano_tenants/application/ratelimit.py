"""Envoy's rate-limit checks: which descriptors are limited, at which limits, and whether the
request fits. Counting is the Counter port's (Redis, or this process's share while Redis is
unreachable); tenants' limits come from their plans through a short in-process cache, so a plan
change is enforced within `ttl_s` without a restart and the database sees at most one lookup per
tenant per `ttl_s`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from tucano_tenants.application.ports import Counter, LimitsSource, PlanCatalogue
from tucano_tenants.domain.plans import Limits, Plan
from tucano_tenants.domain.ratelimit import (
    DOMAIN,
    Decision,
    Entries,
    RouteLimits,
    Rule,
    TenantApi,
    Verdict,
    fixed_rule,
    subject_of,
    tenant_rule,
    verdict,
)

log = logging.getLogger("tucano.tenants.ratelimit")


@dataclass(frozen=True)
class RateLimitCheck:
    """Envoy's question: may a request carrying these descriptors pass?"""

    domain: str
    descriptors: tuple[Entries, ...]
    hits_addend: int = 0  # Envoy's: 0 means 1


def _limits_of(plan: Plan) -> Limits:
    return Limits(plan_id=plan.id, api_requests_per_second=plan.api_requests_per_second,
                  api_requests_per_minute=plan.api_requests_per_minute,
                  monthly_message_quota=plan.monthly_message_quota,
                  max_contacts=plan.max_contacts)


class TenantLimits:
    """Tenants' effective limits (plan plus operator overrides), cached for `ttl_s`.

    A tenant that does not exist (or an id that is not a UUID) gets the most restrictive plan
    rather than an error. Concurrent misses for one tenant share one lookup, which is not
    cancelled with the RPC that started it (Envoy gives up on slow calls; the next call finds
    the result). When a refresh fails, the last known limits stay in force for another `ttl_s`;
    with none known the error propagates (and Envoy, failing open, lets the request through).
    """

    def __init__(self, source: LimitsSource, plans: PlanCatalogue, *, ttl_s: float = 3.0,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000):
        self._source, self._plans = source, plans
        self._ttl, self._clock, self._max = ttl_s, clock, max_entries
        self._cache: dict[str | None, tuple[Limits, float]] = {}  # None: the restrictive plan
        self._loading: dict[str | None, asyncio.Task[Limits]] = {}

    async def of(self, tenant: str) -> Limits:
        return await self._cached(tenant)

    async def _cached(self, key: str | None) -> Limits:
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key), name=f"tenant-limits-{key}")
            self._loading[key] = task
            task.add_done_callback(lambda done: self._loaded(key, done))
        try:
            return await asyncio.shield(task)
        except Exception as exc:
            if cached is None:
                raise
            log.warning("cannot refresh a tenant's limits; keeping the last known ones",
                        extra={"tenant_id": key, "error": repr(exc)})
            self._cache[key] = (cached[0], now + self._ttl)
            return cached[0]

    def _loaded(self, key: str | None, task: asyncio.Task[Limits]) -> None:
        self._loading.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so an error nobody awaited is not reported twice

    async def _load(self, key: str | None) -> Limits:
        if key is None:
            limits = _limits_of(min(await self._plans.list(),
                                    key=lambda p: (p.api_requests_per_minute,
                                                   p.api_requests_per_second)))
        else:
            try:
                tenant_id: uuid.UUID | None = uuid.UUID(key)
            except ValueError:
                tenant_id = None
            found = await self._source.limits(tenant_id) if tenant_id is not None else None
            limits = found if found is not None else await self._cached(None)
        self._store(key, limits)
        return limits

    def _store(self, key: str | None, limits: Limits) -> None:
        now = self._clock()
        if len(self._cache) >= self._max:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
            if len(self._cache) >= self._max:  # all fresh: forget the oldest tenth
                for oldest in list(self._cache)[: self._max // 10 + 1]:
                    del self._cache[oldest]
        self._cache.pop(key, None)
        self._cache[key] = (limits, now + self._ttl)


class RateLimiter:
    """The ShouldRateLimit handler."""

    def __init__(self, limits: TenantLimits, counter: Counter, routes: RouteLimits,
                 clock: Callable[[], float] = time.time):
        self._limits, self._counter, self._routes = limits, counter, routes
        self._clock = clock

    async def check(self, check: RateLimitCheck) -> Decision:
        unlimited = Decision((None,) * len(check.descriptors))
        if check.domain != DOMAIN:
            log.debug("rate-limit domain not ours; not limited", extra={"domain": check.domain})
            return unlimited
        rules = [await self._rule(entries) for entries in check.descriptors]
        # A descriptor sent twice is still one request: count each slot once.
        slots = list(dict.fromkeys(s for r in rules if r is not None for s in r.slots()))
        if not slots:
            return unlimited
        hits, now = max(1, check.hits_addend), self._clock()
        consumption = await self._counter.consume(slots, hits, now)
        usage = dict(zip(slots, consumption.usages, strict=True))
        statuses: list[Verdict | None] = [
            None if rule is None else
            verdict([usage[s] for s in rule.slots()], consumption.allowed, hits, now)
            for rule in rules]
        return Decision(tuple(statuses))

    async def _rule(self, entries: Entries) -> Rule | None:
        subject = subject_of(entries)
        if subject is None:
            log.debug("descriptor not limited", extra={"keys": [k for k, _ in entries]})
            return None
        if isinstance(subject, TenantApi):
            return tenant_rule(subject.tenant, await self._limits.of(subject.tenant))
        return fixed_rule(subject, self._routes)

