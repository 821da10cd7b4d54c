"""`inbox.claim`: a message id counts as processed only once its transaction commits, and
concurrent deliveries of the same id apply it once (the second waits for the first)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from tucano_kit.amqp.inbox import claim

from . import amqp_support as support
from .amqp_support import ServiceDb

service_db = support.service_db

pytestmark = pytest.mark.integration


async def _claim_committed(pool: asyncpg.Pool, consumer: str, message_id: str) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        return await claim(conn, consumer, message_id)


async def test_a_message_is_claimed_once_per_consumer(service_db: ServiceDb) -> None:
    pool = service_db.pool
    assert await _claim_committed(pool, "billing", "m-1")
    assert not await _claim_committed(pool, "billing", "m-1")
    assert await _claim_committed(pool, "campaigns", "m-1")  # another consumer's own record
    assert await _claim_committed(pool, "billing", "m-2")


async def test_a_rolled_back_claim_does_not_count(service_db: ServiceDb) -> None:
    class HandlerFailed(Exception):
        pass

    with pytest.raises(HandlerFailed):
        async with service_db.pool.acquire() as conn, conn.transaction():
            assert await claim(conn, "billing", "m-3")
            raise HandlerFailed  # effects failed: the claim rolls back with them
    assert await _claim_committed(service_db.pool, "billing", "m-3")  # the redelivery applies


async def _blocked_on_a_lock(db: ServiceDb, pid: int) -> bool:
    return bool(await db.scalar(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid))


@pytest.mark.parametrize("first_commits", [True, False])
async def test_concurrent_deliveries_of_one_message_apply_it_once(
        service_db: ServiceDb, first_commits: bool) -> None:
    first = await service_db.pool.acquire()
    second = await service_db.pool.acquire()
    try:
        tx = first.transaction()
        await tx.start()
        assert await claim(first, "billing", "m-4")

        async def second_delivery() -> bool:
            async with second.transaction():
                return await claim(second, "billing", "m-4")

        racing = asyncio.create_task(second_delivery())
        await support.eventually(lambda: _blocked_on_a_lock(service_db, second.get_server_pid()),
                                 within=10, what="the second claim to wait for the first")
        assert not racing.done()
        if first_commits:
            await tx.commit()
        else:
            await tx.rollback()  # the first handler failed: the second one must apply it
        assert await asyncio.wait_for(racing, 10) is (not first_commits)
    finally:
        await service_db.pool.release(second)
        await service_db.pool.release(first)


async def test_a_message_without_id_cannot_be_deduplicated(service_db: ServiceDb) -> None:
    async with service_db.pool.acquire() as conn:
        with pytest.raises(ValueError, match="message_id"):
            await claim(conn, "billing", "")
