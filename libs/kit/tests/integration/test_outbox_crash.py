"""R3 with a real process kill: the outbox relay delivers every row to RabbitMQ at least once
across a relay crash (SIGKILL between publish and mark), and a consumer using the kit's dedupe
applies each message once.

The relay runs as its own process (amqp_relay_runner.py). Besides the work queue (consumed by
the dedupe consumer all along) a tap queue bound to the same keys is never consumed, so its
depth counts every publish: a kill "lands" between publish and mark when, once the dead process
is quiet, the tap holds more messages than the outbox has marked rows.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import IO

import pytest
from aio_pika.abc import AbstractRobustConnection

from . import amqp_support as support
from .amqp_support import ServiceDb

amqp = support.amqp
prefix = support.prefix
service_db = support.service_db

pytestmark = pytest.mark.integration

RUNNER = Path(__file__).parent / "amqp_relay_runner.py"
KEYS = tuple("abcdefgh")
PER_KEY = 250  # 2,000 rows
BATCH = 250
MAX_KILLS = 3


class Relay:
    """The relay process, started and SIGKILL'd at will."""

    def __init__(self, db: ServiceDb, amqp_url: str, log: IO[bytes]) -> None:
        self._args = (str(RUNNER), db.dsn, db.schema, amqp_url, str(BATCH))
        self._log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self._args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=self._log)
        self.starts += 1

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            raise AssertionError(f"relay process exited by itself ({self.proc.returncode})")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None


async def test_relay_sigkilled_mid_batch_delivers_every_row_and_dedupe_applies_once(
        amqp_url: str, amqp: AbstractRobustConnection, prefix: str, service_db: ServiceDb,
        tmp_path: Path) -> None:
    messages = support.outbox_messages(f"{prefix}.x", KEYS, PER_KEY)
    total = len(messages)
    await support.enqueue_all(service_db, messages)
    # A classic work queue: quicker confirms on a busy machine; the relay is what is tested.
    topology = support.work_topology(prefix, routing_keys=KEYS, quorum=False)
    queue = f"{prefix}.q"
    landed: list[int] = []  # per kill: rows published by the dead relay but never marked

    consumer = support.DedupeConsumer(service_db.pool, "r3-kill")

    with (tmp_path / "relay.log").open("wb") as log:
        relay = Relay(service_db, amqp_url, log)
        async with support.scratch_topology(amqp, topology):
            channel = await amqp.channel()
            tap = await channel.declare_queue(f"{prefix}.tap", durable=False, robust=False)
            for key in KEYS:
                await tap.bind(f"{prefix}.x", key)

            async def published_so_far() -> int:
                count = (await tap.declare()).message_count  # re-declaring returns the count
                assert count is not None
                return count

            async def quiet_count() -> int:
                """The count once the killed relay's last bytes have reached the broker."""
                last = -1
                for _ in range(40):
                    now = await published_so_far()
                    if now == last:
                        return now
                    last = now
                    await asyncio.sleep(0.25)
                raise AssertionError("the tap queue did not settle after the kill")

            try:
                async with support.background(consumer.run(amqp, queue, prefetch=200)) as task:
                    excess = 0  # publishes beyond marked rows, as of the last kill
                    await relay.start()
                    for _ in range(MAX_KILLS):
                        async def mid_batch(excess: int = excess) -> bool:
                            relay.check_alive()
                            pending = await service_db.pending()
                            marked = total - pending
                            return (pending == 0
                                    or await published_so_far() - marked - excess >= 30)

                        await support.eventually(mid_batch, within=60, interval=0.005,
                                                 tasks=[task],
                                                 what="the relay to be part-way through a batch")
                        await relay.kill()
                        published = await quiet_count()
                        marked = total - await service_db.pending()
                        landed.append(published - marked - excess)
                        excess = published - marked
                        if marked == total or landed[-1] > 0:  # retry a kill that missed
                            break
                        await relay.start()

                    # A last relay finishes the job.
                    if relay.proc is None:
                        await relay.start()

                    async def drained() -> bool:
                        relay.check_alive()
                        return await service_db.pending() == 0

                    await support.eventually(drained, within=60, interval=0.1, tasks=[task],
                                             what="the restarted relay to drain the outbox")
                    await relay.kill()
                    published = await quiet_count()
                    await support.eventually(lambda: consumer.completed == published,
                                             within=60, tasks=[task],
                                             what="every published message consumed")
            finally:
                await relay.kill()
                await channel.queue_delete(f"{prefix}.tap")
                await channel.close()

    ids = {str(m.id) for m in messages}
    assert any(n > 0 for n in landed), (
        f"no kill landed between publish and mark ({landed}); the test proved nothing")
    assert all(n >= 0 for n in landed), landed
    assert published == total + sum(landed)  # duplicates are exactly the unmarked publishes
    assert set(consumer.deliveries) == ids  # every row arrived at least once
    assert consumer.total == published
    assert consumer.applied == total
    assert await service_db.effects("r3-kill") == Counter(ids)  # and was applied once
    assert await service_db.pending() == 0
    assert relay.starts >= 2
