"""In-process counters and the fallback to them (a fake shared counter, a fake clock)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from tucano_tenants.adapters.memory.ratelimit import FallbackCounter, InProcessCounter
from tucano_tenants.application.ports import CounterUnavailable
from tucano_tenants.domain.ratelimit import Consumption, Slot, Unit, Usage, Window

SECOND = Slot("tenant:a", Window(10, Unit.SECOND))
MINUTE = Slot("tenant:a", Window(100, Unit.MINUTE))
NOW = 6_000.5


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakySharedCounter:
    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    async def consume(self, slots: Sequence[Slot], hits: int, now: float) -> Consumption:
        self.calls += 1
        if self.down:
            raise CounterUnavailable("TimeoutError()")
        return Consumption(True, tuple(Usage(s, hits) for s in slots))


async def test_in_process_counts_all_windows_or_none() -> None:
    counter = InProcessCounter()
    tight = Slot("tenant:a", Window(2, Unit.MINUTE))
    results = [await counter.consume([SECOND, tight], 1, NOW) for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, False]
    assert [u.count for u in results[2].usages] == [2, 2]  # the refusal took nothing
    assert (await counter.consume([SECOND], 1, NOW)).usages[0].count == 3


async def test_in_process_windows_start_again_at_zero() -> None:
    counter = InProcessCounter()
    assert (await counter.consume([SECOND], 10, NOW)).allowed
    assert not (await counter.consume([SECOND], 1, NOW)).allowed
    assert (await counter.consume([SECOND], 1, NOW + 1)).allowed


async def test_in_process_state_stays_bounded() -> None:
    counter = InProcessCounter(max_entries=100)
    for i in range(1_000):  # all in one window: nothing has expired, the oldest go
        await counter.consume([Slot(f"auth:10.0.{i // 256}.{i % 256}", MINUTE.window)], 1, NOW)
    assert len(counter) <= 100
    await counter.consume([SECOND], 1, NOW + 120)  # a later window: the past ones are pruned
    assert len(counter) == 1


@pytest.fixture
def world() -> tuple[FallbackCounter, FlakySharedCounter, Clock]:
    shared, clock = FlakySharedCounter(), Clock()
    fallback = FallbackCounter(shared, InProcessCounter(), processes=2, probe_interval_s=1.0,
                               clock=clock)
    return fallback, shared, clock


async def test_while_shared_counters_are_down_each_process_allows_its_share(
        world: tuple[FallbackCounter, FlakySharedCounter, Clock]) -> None:
    fallback, shared, _ = world
    shared.down = True
    results = [await fallback.consume([SECOND, MINUTE], 1, NOW) for _ in range(8)]
    assert [r.allowed for r in results] == [True] * 5 + [False] * 3
    assert results[-1].usages[0].slot.window == Window(5, Unit.SECOND)  # the share, reported
    assert fallback.degraded


async def test_degradation_and_recovery_are_logged_once_and_probes_are_spaced(
        world: tuple[FallbackCounter, FlakySharedCounter, Clock],
        caplog: pytest.LogCaptureFixture) -> None:
    fallback, shared, clock = world
    caplog.set_level(logging.INFO, logger="tucano.tenants.ratelimit")
    await fallback.consume([SECOND], 1, NOW)
    shared.down = True
    for _ in range(50):
        await fallback.consume([SECOND], 1, NOW)
    assert shared.calls == 2  # the healthy call and the one that failed; no per-request retry
    clock.now = 0.5
    await fallback.consume([SECOND], 1, NOW)
    assert shared.calls == 2
    clock.now = 1.0
    for _ in range(10):
        await fallback.consume([SECOND], 1, NOW)
    assert shared.calls == 3  # one probe per interval
    shared.down = False
    clock.now = 2.0
    result = await fallback.consume([SECOND], 1, NOW)
    assert result.usages[0].slot == SECOND  # shared again, with the full limit
    assert not fallback.degraded
    await fallback.consume([SECOND], 1, NOW)
    assert shared.calls == 5
    assert [(r.levelname, r.getMessage().split(";")[0]) for r in caplog.records] == [
        ("WARNING", "rate-limit counters unreachable"),
        ("INFO", "rate-limit counters reachable again")]
