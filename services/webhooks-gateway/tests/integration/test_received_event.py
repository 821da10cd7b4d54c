"""A new delivery is announced on tucano.events through the outbox; a replay is not."""

from __future__ import annotations

import asyncio
import json

import aio_pika
import grpc.aio
import pytest
from google.api import httpbody_pb2
from tucano.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from tucano_kit.amqp.topology import EVENTS
from tucano_webhooks_gateway.adapters.postgres.webhooks import RECEIVED_EVENT
from tucano_webhooks_gateway.bootstrap import App
from tucano_webhooks_gateway.domain.signatures import sign

pytestmark = pytest.mark.integration


async def test_a_new_delivery_is_published_once(webhooks: tuple[App, grpc.aio.Channel],
                                                app_secret: str, amqp_url: str,
                                                unique: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        events = await channel.declare_exchange(EVENTS, aio_pika.ExchangeType.TOPIC,
                                                durable=True)
        queue = await channel.declare_queue(f"test.webhooks.{unique}", exclusive=True)
        await queue.bind(events, RECEIVED_EVENT)
        body = json.dumps({"object": "whatsapp_business_account", "id": unique}).encode()
        request = webhooks_pb2.ReceiveWebhookRequest(body=httpbody_pb2.HttpBody(data=body))
        stub = webhooks_pb2_grpc.WebhooksServiceStub(webhooks[1])
        md = (("x-hub-signature-256", sign(app_secret, body)),)
        first = await stub.ReceiveWebhook(request, metadata=md)
        await stub.ReceiveWebhook(request, metadata=md)  # Meta's retry: same bytes
        message = await _get(queue, timeout_s=15)
        assert json.loads(message.body) == {"webhook_id": first.webhook_id,
                                            "object": "whatsapp_business_account"}
        assert message.type == RECEIVED_EVENT
        await asyncio.sleep(1.5)  # let a wrongly enqueued second event reach the queue
        assert await queue.get(fail=False) is None
    finally:
        await connection.close()


async def _get(queue: aio_pika.abc.AbstractQueue, timeout_s: float
               ) -> aio_pika.abc.AbstractIncomingMessage:
    async with asyncio.timeout(timeout_s):
        while True:
            message = await queue.get(fail=False, no_ack=True)
            if message is not None:
                return message
            await asyncio.sleep(0.1)
