"""Counters for login throttling: Redis, shared by every auth process; an in-process fallback
while Redis is unreachable (logged once per outage, retried every few seconds), so sign-in keeps
working and keeps being throttled, per process, during an outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tucano_auth.domain.throttle import HOUR_S, KNOWN_IP_MEMORY_S, PAIR_MEMORY_S, Counts

log = logging.getLogger("tucano.auth.throttle")


def _hour(now: float) -> tuple[int, float]:
    bucket = int(now // HOUR_S)
    return bucket, (bucket + 1) * HOUR_S - now


class RedisLoginAttempts:
    def __init__(self, client: aioredis.Redis, clock: Callable[[], float] = time.time):
        self._redis, self._clock = client, clock

    def _keys(self, account: str, ip: str) -> tuple[str, str, str, str]:
        hour, _ = _hour(self._clock())
        return (f"auth:login:pair:{account}:{ip}", f"auth:login:acct:{account}:{hour}",
                f"auth:login:ip:{ip}:{hour}", f"auth:login:known:{account}")

    async def counts(self, account: str, ip: str) -> Counts:
        pair, acct, by_ip, known = self._keys(account, ip)
        now = self._clock()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(pair)
            pipe.get(acct)
            pipe.get(by_ip)
            pipe.sismember(known, ip)
            pair_data, acct_n, ip_n, is_known = await pipe.execute()
        last = float(pair_data[b"last"]) if b"last" in pair_data else None
        return Counts(pair_failures=int(pair_data.get(b"n", 0)),
                      seconds_since_pair_failure=None if last is None else now - last,
                      account_failures_this_hour=int(acct_n or 0),
                      ip_failures_this_hour=int(ip_n or 0),
                      ip_known_for_account=bool(is_known),
                      seconds_left_in_hour=_hour(now)[1])

    async def failed(self, account: str, ip: str) -> None:
        pair, acct, by_ip, _ = self._keys(account, ip)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(pair, "n", 1)
            pipe.hset(pair, "last", str(self._clock()))
            pipe.expire(pair, PAIR_MEMORY_S)
            for key in (acct, by_ip):
                pipe.incr(key)
                pipe.expire(key, HOUR_S)
            await pipe.execute()

    async def succeeded(self, account: str, ip: str) -> None:
        pair, _, _, known = self._keys(account, ip)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(pair)
            pipe.sadd(known, ip)
            pipe.expire(known, KNOWN_IP_MEMORY_S)
            await pipe.execute()


class MemoryLoginAttempts:
    """The same counters in this process only (entries expire like the Redis keys)."""

    MAX_ENTRIES = 100_000

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._pairs: dict[str, tuple[int, float]] = {}  # key -> (failures, last failure)
        self._counters: dict[str, tuple[int, float]] = {}  # key -> (count, expires)
        self._known: dict[str, tuple[set[str], float]] = {}  # account -> (ips, expires)

    def _count(self, key: str, now: float) -> int:
        count, expires = self._counters.get(key, (0, now))
        return count if expires > now else 0

    def _pair(self, key: str, now: float) -> tuple[int, float | None]:
        failures, last = self._pairs.get(key, (0, 0.0))
        return (failures, last) if failures and now - last < PAIR_MEMORY_S else (0, None)

    def _known_ips(self, account: str, now: float) -> set[str]:
        ips, expires = self._known.get(account, (set(), now))
        return ips if expires > now else set()

    async def counts(self, account: str, ip: str) -> Counts:
        now = self._clock()
        hour, left = _hour(now)
        failures, last = self._pair(f"{account}:{ip}", now)
        return Counts(pair_failures=failures,
                      seconds_since_pair_failure=None if last is None else now - last,
                      account_failures_this_hour=self._count(f"acct:{account}:{hour}", now),
                      ip_failures_this_hour=self._count(f"ip:{ip}:{hour}", now),
                      ip_known_for_account=ip in self._known_ips(account, now),
                      seconds_left_in_hour=left)

    async def failed(self, account: str, ip: str) -> None:
        now = self._clock()
        hour, _ = _hour(now)
        if len(self._pairs) + len(self._counters) > self.MAX_ENTRIES:
            self._prune(now)
        failures, _ = self._pair(f"{account}:{ip}", now)
        self._pairs[f"{account}:{ip}"] = (failures + 1, now)
        for key in (f"acct:{account}:{hour}", f"ip:{ip}:{hour}"):
            self._counters[key] = (self._count(key, now) + 1, now + HOUR_S)

    async def succeeded(self, account: str, ip: str) -> None:
        now = self._clock()
        self._pairs.pop(f"{account}:{ip}", None)
        self._known[account] = (self._known_ips(account, now) | {ip}, now + KNOWN_IP_MEMORY_S)

    def _prune(self, now: float) -> None:
        self._pairs = {k: v for k, v in self._pairs.items() if now - v[1] < PAIR_MEMORY_S}
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}


class FallbackLoginAttempts:
    """Redis while it answers; the in-process counters while it does not."""

    def __init__(self, primary: RedisLoginAttempts, fallback: MemoryLoginAttempts,
                 retry_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._primary, self._fallback = primary, fallback
        self._retry_after, self._clock = retry_after_s, clock
        self._down_since: float | None = None

    async def _call(self, name: str, account: str, ip: str) -> object:
        if self._down_since is None or self._clock() - self._down_since >= self._retry_after:
            try:
                result = await getattr(self._primary, name)(account, ip)
            except (RedisError, OSError, TimeoutError) as exc:
                if self._down_since is None:
                    log.warning("redis unreachable; login throttling uses in-process counters",
                                extra={"error": repr(exc)})
                self._down_since = self._clock()
            else:
                if self._down_since is not None:
                    log.warning("redis is back; login throttling is shared again")
                    self._down_since = None
                return result
        return await getattr(self._fallback, name)(account, ip)

    async def counts(self, account: str, ip: str) -> Counts:
        result = await self._call("counts", account, ip)
        assert isinstance(result, Counts)
        return result

    async def failed(self, account: str, ip: str) -> None:
        await self._call("failed", account, ip)

    async def succeeded(self, account: str, ip: str) -> None:
        await self._call("succeeded", account, ip)
