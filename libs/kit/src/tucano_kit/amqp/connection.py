"""Robust AMQP connections with heartbeats, so a dead peer is noticed in seconds, not minutes."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from yarl import URL

HEARTBEAT_S = 15


async def connect(url: str, *, name: str, timeout_s: float = 5.0) -> AbstractRobustConnection:
    """Connect (reconnecting by itself later); fails if the first attempt does not succeed."""
    target = URL(url)
    if "heartbeat" not in target.query:
        target = target.update_query(heartbeat=HEARTBEAT_S)
    return await aio_pika.connect_robust(
        target, timeout=timeout_s, client_properties={"connection_name": name})
