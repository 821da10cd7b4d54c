"""WebhooksService on a real gRPC server against real PostgreSQL."""

from __future__ import annotations

import json

import grpc
import grpc.aio
import pytest
from google.api import httpbody_pb2
from tucano.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from tucano_kit.testing import expect_failure
from tucano_webhooks_gateway.bootstrap import App
from tucano_webhooks_gateway.domain.signatures import sign

pytestmark = pytest.mark.integration

Served = tuple[App, grpc.aio.Channel]


def stub(served: Served) -> webhooks_pb2_grpc.WebhooksServiceStub:
    return webhooks_pb2_grpc.WebhooksServiceStub(served[1])


def delivery(payload: dict[str, object]) -> tuple[webhooks_pb2.ReceiveWebhookRequest, bytes]:
    body = json.dumps(payload).encode()  # ensure_ascii: non-ASCII \u-escaped, as Meta sends
    return webhooks_pb2.ReceiveWebhookRequest(
        body=httpbody_pb2.HttpBody(content_type="application/json", data=body)), body


async def count(served: Served) -> int:
    return int(await served[0].pool.fetchval("SELECT count(*) FROM received_webhooks"))


async def test_the_handshake_echoes_the_challenge(webhooks: Served, verify_token: str) -> None:
    reply = await stub(webhooks).VerifySubscription(webhooks_pb2.VerifySubscriptionRequest(
        hub=webhooks_pb2.Hub(mode="subscribe", challenge="1158201444", verify_token=verify_token)))
    assert (reply.content_type, reply.data) == ("text/plain", b"1158201444")


async def test_a_wrong_verify_token_is_denied(webhooks: Served) -> None:
    failure = await expect_failure(stub(webhooks).VerifySubscription(
        webhooks_pb2.VerifySubscriptionRequest(hub=webhooks_pb2.Hub(
            mode="subscribe", challenge="1", verify_token="nope"))))
    assert (failure.code, failure.reason) == (grpc.StatusCode.PERMISSION_DENIED,
                                              "VERIFY_TOKEN_MISMATCH")


async def test_a_signed_delivery_is_stored_once_and_a_replay_is_a_duplicate(
        webhooks: Served, app_secret: str) -> None:
    request, body = delivery({"object": "whatsapp_business_account", "entry": [{"id": "1"}],
                              "note": "olá"})
    md = (("x-hub-signature-256", sign(app_secret, body)),)
    before = await count(webhooks)
    first = await stub(webhooks).ReceiveWebhook(request, metadata=md)
    again = await stub(webhooks).ReceiveWebhook(request, metadata=md)
    assert not first.duplicate and again.duplicate
    assert again.webhook_id == first.webhook_id
    assert await count(webhooks) == before + 1


async def test_a_bad_signature_is_refused_and_nothing_is_stored(webhooks: Served) -> None:
    request, body = delivery({"object": "whatsapp_business_account", "n": 2})
    before = await count(webhooks)
    for md in [(("x-hub-signature-256", sign("wrong-secret", body)),), ()]:
        failure = await expect_failure(stub(webhooks).ReceiveWebhook(request, metadata=md))
        assert (failure.code, failure.reason) == (grpc.StatusCode.UNAUTHENTICATED,
                                                  "INVALID_SIGNATURE")
    assert await count(webhooks) == before


async def test_a_signed_body_that_is_not_a_meta_payload_is_invalid(webhooks: Served,
                                                                    app_secret: str) -> None:
    for body in [b"not json", b"[1,2]", b'{"entry": []}']:
        request = webhooks_pb2.ReceiveWebhookRequest(body=httpbody_pb2.HttpBody(data=body))
        failure = await expect_failure(stub(webhooks).ReceiveWebhook(
            request, metadata=(("x-hub-signature-256", sign(app_secret, body)),)))
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
