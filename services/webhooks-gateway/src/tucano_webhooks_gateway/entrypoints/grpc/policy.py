"""Who may call which RPC. Meta's deliveries carry no token: they are authenticated by their
HMAC signature (ReceiveWebhook) or the verify token (VerifySubscription) in the handler."""

from __future__ import annotations

from tucano_kit.auth import Access, Policy

SERVICE = "/tucano.webhooks.v1.WebhooksService"

POLICY: Policy = {
    f"{SERVICE}/VerifySubscription": Access.public(),
    f"{SERVICE}/ReceiveWebhook": Access.public(),
}
