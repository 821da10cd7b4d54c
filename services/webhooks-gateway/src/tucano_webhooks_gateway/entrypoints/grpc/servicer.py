"""WebhooksService: parse, call the handler, map."""

from __future__ import annotations

import grpc
from google.api import httpbody_pb2
from tucano.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from tucano_kit.errors import PermissionDenied
from tucano_kit.validation import Violations

from tucano_webhooks_gateway.application.ports import WebhookStore
from tucano_webhooks_gateway.application.receive import ReceiveWebhook, receive_webhook
from tucano_webhooks_gateway.domain.signatures import verify_subscription

SIGNATURE_HEADER = "x-hub-signature-256"


class WebhooksServicer(webhooks_pb2_grpc.WebhooksServiceServicer):
    def __init__(self, store: WebhookStore, *, app_secret: str, verify_token: str):
        self._store = store
        self._secret = app_secret
        self._verify_token = verify_token

    async def VerifySubscription(self, request: webhooks_pb2.VerifySubscriptionRequest,
                                 context: grpc.aio.ServicerContext) -> httpbody_pb2.HttpBody:
        with Violations() as v:
            v.check(bool(request.hub.mode), "hub.mode", "is required")
            v.check(bool(request.hub.challenge), "hub.challenge", "is required")
            v.check(len(request.hub.challenge) <= 256, "hub.challenge", "at most 256 characters")
        if not verify_subscription(request.hub.mode, request.hub.verify_token,
                                   self._verify_token):
            raise PermissionDenied("VERIFY_TOKEN_MISMATCH",
                                   "hub.mode must be subscribe and hub.verify_token must match")
        return httpbody_pb2.HttpBody(content_type="text/plain",
                                     data=request.hub.challenge.encode())

    async def ReceiveWebhook(self, request: webhooks_pb2.ReceiveWebhookRequest,
                             context: grpc.aio.ServicerContext
                             ) -> webhooks_pb2.ReceiveWebhookResponse:
        metadata = dict(context.invocation_metadata() or ())
        signature = metadata.get(SIGNATURE_HEADER)
        received = await receive_webhook(
            ReceiveWebhook(body=request.body.data,
                           signature=signature if isinstance(signature, str) else None),
            self._secret, self._store)
        return webhooks_pb2.ReceiveWebhookResponse(webhook_id=str(received.webhook_id),
                                                   duplicate=received.duplicate)
