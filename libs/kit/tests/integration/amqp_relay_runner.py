"""Run one outbox relay until killed: `python amqp_relay_runner.py DSN SCHEMA AMQP_URL BATCH`.

Started by test_outbox_crash.py, which SIGKILLs it mid-run and starts it again, like a relay
process dying in production.
"""

from __future__ import annotations

import asyncio
import sys

from tucano_kit.amqp import Publisher, connect
from tucano_kit.amqp.outbox import OutboxRelay
from tucano_kit.postgres import create_pool


async def main(dsn: str, schema: str, amqp_url: str, batch_size: int) -> None:
    pool = await create_pool(dsn, application_name="amqp-relay-runner", min_size=1, max_size=3)
    connection = await connect(amqp_url, name=f"amqp-relay-runner-{schema}")
    publisher = await Publisher.open(connection)
    relay = OutboxRelay(pool, publisher, schema=schema, batch_size=batch_size,
                        poll_interval_s=0.5)
    await relay.run()


if __name__ == "__main__":
    dsn, schema, amqp_url, batch = sys.argv[1:5]
    asyncio.run(main(dsn, schema, amqp_url, int(batch)))
