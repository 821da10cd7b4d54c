"""Rate-limit counters in Redis, shared by every tenants process: fixed windows, one Lua script.

Why fixed windows rather than GCRA: Envoy's RLS response is shaped for them (a limit per unit,
what remains, when the window resets; Envoy turns these into X-RateLimit-* headers), a
`Retry-After` is simply "until the violated window ends", every process agrees on the windows
from the clock alone, and the in-process fallback can count exactly the same windows. The
known cost, a burst of up to twice a window's limit across a window boundary, is bounded for
plans by the per-minute window that holds alongside the per-second one.

One script call per request (one round trip) reads every window of every descriptor and
increments them all (INCRBY + PEXPIRE past the window's end) only if all of them have room, so
a request refused by one window (e.g. the minute) consumes nothing from another (the second),
and concurrent requests can never together pass a limit. The script is run by EVALSHA and
reloaded on NOSCRIPT (redis-py's `Script`), e.g. after Redis restarted. A request's keys may
span descriptors, so this assumes one Redis (primary with replicas), not Redis Cluster.

Keys: `rl:<rule>:<s|m>:<window index>` (rule e.g. `tenant:<id>`, `tenant:<id>:import`,
`auth:<address>`), tenant ids as Envoy sends them.

The client has short socket and connect timeouts and no retries, so a dead or black-holed Redis
costs a request one timeout, not a hang; an overall deadline on each call bounds the rest
(a NOSCRIPT reload, a reconnect). Any failure becomes CounterUnavailable.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tucano_tenants.application.ports import CounterUnavailable
from tucano_tenants.domain.ratelimit import Consumption, Slot, Usage

PREFIX = "rl:"
EXPIRY_SLACK_S = 1.0  # keys outlive their window a little: processes' clocks differ slightly

CONSUME = """
-- KEYS[i]: a window's counter; ARGV[1]: hits; ARGV[1+i]: KEYS[i]'s limit;
-- ARGV[1+#KEYS+i]: KEYS[i]'s expiry in ms. Counts the hits in every key if all have room, else
-- in none. Returns {1 if counted else 0, count of KEYS[1], count of KEYS[2], ...}.
local hits = tonumber(ARGV[1])
local n = #KEYS
local counts = {}
local allowed = 1
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] + hits > tonumber(ARGV[1 + i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    counts[i] = redis.call('INCRBY', KEYS[i], hits)
    redis.call('PEXPIRE', KEYS[i], ARGV[1 + n + i])
  end
end
return {allowed, unpack(counts)}
"""


def limiter_client(url: str, timeout_s: float, max_connections: int = 32) -> aioredis.Redis:
    """A client for the limiter: every connect and every reply within `timeout_s`, no retries
    (the fallback is the retry), and a bounded pool: a burst of checks queues for one of
    `max_connections` connections (each check takes well under a millisecond of Redis) rather
    than opening a connection per check, which under load would time out by itself."""
    return aioredis.Redis.from_pool(aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout_s, socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0)))


def key(slot: Slot, now: float) -> str:
    return f"{PREFIX}{slot.rule}:{slot.window.unit.tag}:{slot.window.index(now)}"


class RedisCounter:
    def __init__(self, client: aioredis.Redis, deadline_s: float):
        self._script = client.register_script(CONSUME)
        self._deadline = deadline_s

    async def consume(self, slots: Sequence[Slot], hits: int, now: float) -> Consumption:
        keys = [key(s, now) for s in slots]
        args = [hits, *(s.window.limit for s in slots),
                *(math.ceil((s.window.reset_after(now) + EXPIRY_SLACK_S) * 1000) for s in slots)]
        try:
            async with asyncio.timeout(self._deadline):
                reply = await self._script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            raise CounterUnavailable(repr(exc)) from exc
        allowed, *counts = reply
        return Consumption(bool(allowed),
                           tuple(Usage(s, int(c)) for s, c in zip(slots, counts, strict=True)))
