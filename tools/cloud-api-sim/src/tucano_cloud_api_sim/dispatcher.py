"""Webhook dispatcher: a background scheduler plus a pool of POST workers.

Events wait in a bounded time-ordered heap until due, are batched (up to ``batch_max`` per
POST), serialised the way Meta does and signed. A POST counts as delivered only on HTTP 200,
like Meta; anything else is retried with exponential backoff, sending the same bytes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .payloads import WebhookEvent, build_payload, meta_dumps, signature
from .settings import Settings

log = logging.getLogger(__name__)

# Longest the scheduler sleeps while events are pending; bounds the extra latency an event
# scheduled "now" can see while the scheduler waits for a later one.
_TICK_S = 0.01
_USER_AGENT = "facebookexternalua"


@dataclass(slots=True)
class Delivery:
    body: bytes
    signature: str
    events: int
    attempt: int = 1


class WebhookDispatcher:
    def __init__(
        self,
        settings: Callable[[], Settings],
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._rng = random.Random(seed)
        self._heap: list[tuple[float, int, WebhookEvent | Delivery]] = []
        self._seq = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._ready: asyncio.Queue[Delivery] = asyncio.Queue()
        self._inflight = 0
        self._staged = 0
        self._last_warning = 0.0
        self.stats: Counter[str] = Counter()
        self.recent_failures: deque[dict[str, Any]] = deque(maxlen=50)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        s = self._settings()
        self._ready = asyncio.Queue(maxsize=s.webhook_concurrency * 4)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=s.webhook_concurrency, limit_per_host=s.webhook_concurrency
            ),
            # Meta sends JSON bytes as they are; no automatic headers we did not choose, and
            # nothing a webhook sender needs from cookies or response decompression.
            skip_auto_headers=("User-Agent",),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        self._tasks = [asyncio.create_task(self._scheduler(), name="webhook-scheduler")]
        self._tasks += [
            asyncio.create_task(self._worker(), name=f"webhook-worker-{i}")
            for i in range(s.webhook_concurrency)
        ]

    async def stop(self, drain_s: float = 2.0) -> None:
        """Deliver what is due within ``drain_s``, then stop. Later events are dropped: the
        simulator keeps its state in memory only."""
        if self._tasks:
            await self.wait_idle(drain_s)
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    def clear(self) -> None:
        """Drop every pending event and retry (POST /_sim/reset)."""
        self.stats["events_dropped_reset"] += sum(
            item.events if isinstance(item, Delivery) else 1 for _, _, item in self._heap
        )
        self._heap.clear()
        self._check_idle()

    @property
    def pending(self) -> int:
        return len(self._heap) + self._staged + self._ready.qsize() + self._inflight

    def view(self) -> dict[str, Any]:
        return {
            "pending": len(self._heap),
            "ready": self._ready.qsize(),
            "in_flight": self._inflight,
            "stats": dict(self.stats),
            "recent_failures": list(self.recent_failures),
        }

    async def wait_idle(self, limit_s: float) -> bool:
        """True once nothing is pending, queued or in flight (retries count as pending)."""
        try:
            await asyncio.wait_for(self._idle.wait(), limit_s)
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ producer side

    def schedule(self, events: list[tuple[float, WebhookEvent]]) -> None:
        """Queue events, each ``delay_s`` from now. One call per send keeps the hot path short."""
        s = self._settings()
        if not s.webhook_url:
            self.stats["events_discarded_no_url"] += len(events)
            return
        room = s.webhook_queue_max - len(self._heap)
        if room < len(events):
            self.stats["events_dropped_queue_full"] += len(events) - max(room, 0)
            self._warn("webhook queue full (%d); dropping events", s.webhook_queue_max)
            events = events[: max(room, 0)]
        heap, seq, push = self._heap, self._seq, heapq.heappush
        if not heap:
            self._wakeup.set()
        now = self._clock()
        for delay_s, event in events:  # _push() inlined: three of these per send
            push(heap, (now + delay_s, next(seq), event))
        self._idle.clear()
        self.stats["events_scheduled"] += len(events)

    def _push(self, due: float, item: WebhookEvent | Delivery) -> None:
        was_empty = not self._heap
        heapq.heappush(self._heap, (due, next(self._seq), item))
        self._idle.clear()
        if was_empty:
            self._wakeup.set()

    # ------------------------------------------------------------------ scheduler

    async def _scheduler(self) -> None:
        heap = self._heap
        while True:
            if not heap:
                self._wakeup.clear()
                self._check_idle()
                await self._wakeup.wait()
                continue
            now = self._clock()
            wait = heap[0][0] - now
            if wait > 0:
                await asyncio.sleep(min(wait, _TICK_S))
                continue
            batch_max = self._settings().batch_max
            batch: list[WebhookEvent] = []
            # Items between the heap and the ready queue count as staged, so wait_idle()
            # cannot report idle while the scheduler waits for room in the queue.
            self._staged += 1
            try:
                while heap and heap[0][0] <= now:
                    item = heapq.heappop(heap)[2]
                    if isinstance(item, Delivery):
                        await self._ready.put(item)
                        continue
                    batch.append(item)
                    if len(batch) >= batch_max:
                        await self._ready.put(self._seal(batch))
                        batch = []
                if batch:
                    await self._ready.put(self._seal(batch))
            except Exception:  # a bad batch must not stop every later webhook
                log.exception("dropping a webhook batch that could not be built")
                self.stats["events_dropped_error"] += len(batch)
            finally:
                self._staged -= 1
            # Let the next events collect for a moment: under load this fills batches and
            # caps scheduler wake-ups; idle, it only delays an event by the linger.
            await asyncio.sleep(self._settings().webhook_linger_s)

    def _seal(self, events: list[WebhookEvent]) -> Delivery:
        body = meta_dumps(build_payload(events))
        secret = self._settings().app_secret.encode()
        return Delivery(body, signature(secret, body), len(events))

    # ------------------------------------------------------------------ workers

    async def _worker(self) -> None:
        while True:
            delivery = await self._ready.get()
            self._inflight += 1
            try:
                status = await self._post(delivery)
            finally:
                self._inflight -= 1
            self._settle(delivery, status)
            self._check_idle()

    async def _post(self, delivery: Delivery) -> int | str:
        s = self._settings()
        if not s.webhook_url or self._session is None:
            return "no webhook url"
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": delivery.signature,
            "User-Agent": _USER_AGENT,
        }
        try:
            async with self._session.post(
                s.webhook_url,
                data=delivery.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=s.webhook_timeout_s),
                allow_redirects=False,  # Meta does not follow redirects
            ) as resp:
                await resp.read()
                return resp.status
        except Exception as exc:  # any failure is a failed attempt; the worker must live on
            return type(exc).__name__

    def _settle(self, delivery: Delivery, status: int | str) -> None:
        self.stats["posts"] += 1
        if status == 200:
            self.stats["posts_ok"] += 1
            self.stats["events_delivered"] += delivery.events
            if delivery.attempt > 1:
                self.stats["events_delivered_after_retry"] += delivery.events
            return
        self.stats["posts_failed"] += 1
        self.recent_failures.append(
            {"status": status, "attempt": delivery.attempt, "events": delivery.events}
        )
        s = self._settings()
        if delivery.attempt >= s.max_attempts or not s.webhook_url:
            self.stats["events_dropped_max_attempts"] += delivery.events
            self._warn("webhook gave up after %d attempts (last: %s)", delivery.attempt, status)
            return
        backoff = min(s.retry_max_s, s.retry_base_s * 2 ** (delivery.attempt - 1))
        backoff *= 1.0 + 0.2 * self._rng.random()  # jitter, as retries from many hosts would
        delivery.attempt += 1
        self.stats["retries_scheduled"] += 1
        self._push(self._clock() + backoff, delivery)

    # ------------------------------------------------------------------ helpers

    def _check_idle(self) -> None:
        if not (self._heap or self._staged or self._inflight) and self._ready.empty():
            self._idle.set()

    def _warn(self, msg: str, *args: Any) -> None:
        now = self._clock()
        if now - self._last_warning >= 5.0:
            self._last_warning = now
            log.warning(msg, *args)
