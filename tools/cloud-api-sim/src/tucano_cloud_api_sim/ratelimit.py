"""Token buckets for Meta's per-number throughput (130429) and per-pair rate (131056).

Pure logic: every method takes ``now`` (monotonic seconds) so tests drive a fake clock.
"""

from __future__ import annotations


class TokenBucket:
    """Refills ``rate`` tokens a second up to ``capacity``; starts full."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        elapsed = now - self.stamp
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self.stamp = now

    def try_take(self, now: float) -> bool:
        # _refill inlined: this runs twice per send.
        elapsed = now - self.stamp
        tokens = self.tokens
        if elapsed > 0:
            tokens = min(self.capacity, tokens + elapsed * self.rate)
            self.stamp = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class ThroughputLimiter:
    """One bucket per phone number: ``mps`` a second with a burst of ``mps * burst_s``.

    A small burst keeps the limit honest over short windows: over T seconds at most
    ``mps * (T + burst_s)`` messages pass, i.e. within 10% of the limit once T >= 10 * burst_s.
    """

    def __init__(self, burst_s: float) -> None:
        self.burst_s = burst_s
        self._buckets: dict[str, TokenBucket] = {}

    def _capacity(self, mps: int) -> float:
        return max(1.0, mps * self.burst_s)

    def try_acquire(self, phone_number_id: str, mps: int, now: float) -> bool:
        bucket = self._buckets.get(phone_number_id)
        if bucket is None:
            bucket = self._buckets[phone_number_id] = TokenBucket(mps, self._capacity(mps), now)
        elif bucket.rate != mps:  # number's mps changed through the admin API
            bucket._refill(now)
            bucket.rate = mps
            bucket.capacity = self._capacity(mps)
            bucket.tokens = min(bucket.tokens, bucket.capacity)
        return bucket.try_take(now)

    def set_burst(self, burst_s: float) -> None:
        if burst_s != self.burst_s:
            self.burst_s = burst_s
            self._buckets.clear()


class PairLimiter:
    """One bucket per (business number, recipient): one message per ``window_s`` on average,
    with a burst of ``burst`` that borrows from later quota, as Meta describes the pair rate."""

    _PRUNE_MIN = 50_000

    def __init__(self, window_s: float, burst: int) -> None:
        self.window_s = window_s
        self.burst = burst
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._prune_at = self._PRUNE_MIN

    def try_acquire(self, phone_number_id: str, recipient: str, now: float) -> bool:
        key = (phone_number_id, recipient)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket(1.0 / self.window_s, self.burst, now)
        return bucket.try_take(now)

    def _prune(self, now: float) -> None:
        # A full bucket is indistinguishable from a fresh one, so dropping it loses nothing;
        # this bounds memory when a benchmark sends to millions of distinct recipients.
        self._buckets = {k: b for k, b in self._buckets.items() if not b.is_full(now)}
        self._prune_at = max(self._PRUNE_MIN, 2 * len(self._buckets))

    def configure(self, window_s: float, burst: int) -> None:
        if (window_s, burst) != (self.window_s, self.burst):
            self.window_s, self.burst = window_s, burst
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)
