"""Rate limiting while Redis is unreachable: the same fixed windows, counted in this process,
each limit divided by the number of tenants processes, so that the fleet together never allows
more than a plan (Envoy spreads its calls over the processes; a share is rounded down).

`FallbackCounter` uses the shared counter while it answers. Its first failure switches to the
in-process counter and logs one warning; while degraded, at most one request every
`probe_interval_s` tries the shared counter again (paying at most its timeout), and the first
success logs one info line and resumes shared counting. Nothing is logged per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from tucano_tenants.application.ports import Counter, CounterUnavailable
from tucano_tenants.domain.ratelimit import Consumption, Slot, Unit, Usage

log = logging.getLogger("tucano.tenants.ratelimit")


class InProcessCounter:
    """Fixed-window counters in a dict; atomic because nothing awaits between read and write.

    State is bounded: one entry per (rule, unit), replaced when its window moves on; entries of
    past windows are dropped every `prune_every_s` and whenever `max_entries` is reached (then,
    if all are current, the least recently counted tenth goes, and may count again from zero).
    """

    def __init__(self, max_entries: int = 100_000, prune_every_s: float = 60.0):
        self._max, self._prune_every = max_entries, prune_every_s
        self._counts: dict[tuple[str, Unit], tuple[int, int]] = {}  # -> (window index, count)
        self._pruned_at = 0.0

    def __len__(self) -> int:
        return len(self._counts)

    def _count(self, slot: Slot, now: float) -> int:
        index, count = self._counts.get((slot.rule, slot.window.unit), (None, 0))
        return count if index == slot.window.index(now) else 0

    async def consume(self, slots: Sequence[Slot], hits: int, now: float) -> Consumption:
        counts = [self._count(s, now) for s in slots]
        allowed = all(c + hits <= s.window.limit for s, c in zip(slots, counts, strict=True))
        if allowed:
            if len(self._counts) >= self._max or now - self._pruned_at >= self._prune_every:
                self._prune(now)
            counts = [c + hits for c in counts]
            for s, c in zip(slots, counts, strict=True):
                entry = (s.rule, s.window.unit)
                self._counts.pop(entry, None)  # re-inserted last: the dict's order is recency
                self._counts[entry] = (s.window.index(now), c)
        return Consumption(allowed, tuple(Usage(s, c) for s, c in zip(slots, counts, strict=True)))

    def _prune(self, now: float) -> None:
        self._pruned_at = now
        self._counts = {k: v for k, v in self._counts.items() if v[0] == int(now // k[1].value)}
        if len(self._counts) >= self._max:
            for oldest in list(self._counts)[: self._max // 10 + 1]:
                del self._counts[oldest]


class FallbackCounter:
    """The shared counter while it answers; this process's share of every limit while not."""

    def __init__(self, shared: Counter, local: Counter, *, processes: int,
                 probe_interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._shared, self._local = shared, local
        self._processes, self._probe_interval, self._clock = processes, probe_interval_s, clock
        self._degraded_since: float | None = None
        self._last_probe = 0.0
        self._probing = False

    @property
    def degraded(self) -> bool:
        return self._degraded_since is not None

    async def consume(self, slots: Sequence[Slot], hits: int, now: float) -> Consumption:
        probe = self._take_probe()
        if self._degraded_since is None or probe:
            try:
                result = await self._shared.consume(slots, hits, now)
            except CounterUnavailable as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
            finally:
                if probe:
                    self._probing = False
        return await self._local.consume([s.share(self._processes) for s in slots], hits, now)

    def _take_probe(self) -> bool:
        """While degraded: whether this request is the one that tries the shared counter."""
        if self._degraded_since is None or self._probing:
            return False
        if self._clock() - self._last_probe < self._probe_interval:
            return False
        self._probing, self._last_probe = True, self._clock()
        return True

    def _failed(self, exc: CounterUnavailable) -> None:
        self._last_probe = self._clock()
        if self._degraded_since is None:
            self._degraded_since = self._last_probe
            log.warning("rate-limit counters unreachable; limiting from in-process counters"
                        " (this process's share of each limit) until they answer again",
                        extra={"error": str(exc), "processes": self._processes})

    def _recovered(self) -> None:
        if self._degraded_since is not None:
            log.info("rate-limit counters reachable again; shared limiting resumed",
                     extra={"degraded_for_s": round(self._clock() - self._degraded_since, 3)})
            self._degraded_since = None
