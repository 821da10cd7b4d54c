"""Receiving a webhook: authenticate it by signature, keep it raw and deduplicated."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from tucano_kit.errors import FieldViolation, InvalidArgument, Unauthenticated

from tucano_webhooks_gateway.application.ports import WebhookStore
from tucano_webhooks_gateway.domain.signatures import is_genuine

MAX_BODY_BYTES = 4 * 1024 * 1024  # Meta's payloads reach 3 MB


@dataclass(frozen=True)
class ReceiveWebhook:
    body: bytes
    signature: str | None


@dataclass(frozen=True)
class Received:
    webhook_id: uuid.UUID
    duplicate: bool


async def receive_webhook(cmd: ReceiveWebhook, app_secret: str, store: WebhookStore) -> Received:
    # Authenticity first: nothing about an unsigned body is parsed, stored or echoed.
    if not is_genuine(app_secret, cmd.body, cmd.signature):
        raise Unauthenticated("INVALID_SIGNATURE", "X-Hub-Signature-256 does not match the body")
    if len(cmd.body) > MAX_BODY_BYTES:
        raise InvalidArgument([FieldViolation("body", f"larger than {MAX_BODY_BYTES} bytes")])
    try:
        payload = json.loads(cmd.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidArgument([FieldViolation("body", "is not JSON")]) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("object"), str):
        raise InvalidArgument([FieldViolation("body.object", "is required")])
    webhook_id, duplicate = await store.store(cmd.body, cmd.signature or "", payload["object"])
    return Received(webhook_id, duplicate)
