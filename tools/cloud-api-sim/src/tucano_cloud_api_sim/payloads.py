"""Webhook payloads in Meta's shapes, their exact wire bytes and their signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import orjson

OBJECT = "whatsapp_business_account"

STATUSES = "statuses"
MESSAGES = "messages"
TEMPLATE = "template"


@dataclass(frozen=True, slots=True, eq=False)
class Channel:
    """Where an event lands in a payload: its WABA's entry, and one change per (field, number).

    Compared by identity (``eq=False``): numbers keep one channel per kind, so grouping by
    channel is a fast identity lookup."""

    kind: str  # STATUSES | MESSAGES | TEMPLATE
    waba_id: str
    phone_number_id: str
    display_phone_number: str


# One status, inbound message or template change before batching: (channel, item, contact,
# entry time). A plain tuple because the send path makes three per message.
#   item: a statuses[] / messages[] element, or the template change value
#   contact: the contacts[] element that goes with the item, or None
#   entry time: entry.time for template changes, else 0
WebhookEvent = tuple[Channel, dict[str, Any], dict[str, Any] | None, int]


def meta_dumps(payload: Any) -> bytes:
    """Serialise like Meta: compact, non-ASCII as lowercase ``\\uXXXX``, ``/`` as ``\\/`` and
    ``@`` as ``\\u0040``. Receivers must verify the signature over these exact bytes; one that
    re-serialises parsed JSON fails on such characters, as it would in production."""
    try:
        fast = orjson.dumps(payload)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits from admin input
        fast = b"\x80"  # not ASCII: take the stdlib path below
    if fast.isascii() and b"\x7f" not in fast:
        # Same bytes as the stdlib encoder for printable ASCII content (the stdlib escapes DEL;
        # checked in the tests), and much faster.
        body = fast
    else:
        body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    if b"/" in body:
        body = body.replace(b"/", b"\\/")
    if b"@" in body:
        body = body.replace(b"@", b"\\u0040")
    return body


def signature(app_secret: bytes, body: bytes) -> str:
    """``X-Hub-Signature-256`` value: ``sha256=`` + lowercase hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


def build_payload(events: list[WebhookEvent]) -> dict[str, Any]:
    """One POST body for a batch: an entry per WABA, a change per (field, phone number) with
    its statuses[] or messages[] in arrival order; template changes stay one per change."""
    entries: dict[str, dict[str, Any]] = {}
    values: dict[Channel, dict[str, Any]] = {}
    seen_contacts: dict[Channel, set[str]] = {}
    for channel, item, contact, time in events:
        entry = entries.get(channel.waba_id)
        if entry is None:
            entry = entries[channel.waba_id] = {"id": channel.waba_id, "changes": []}
        if channel.kind == TEMPLATE:
            entry["time"] = time
            entry["changes"].append({"value": item, "field": "message_template_status_update"})
            continue
        value = values.get(channel)
        if value is None:
            value = values[channel] = {
                "messaging_product": "whatsapp",
                "metadata": {
                    "display_phone_number": channel.display_phone_number,
                    "phone_number_id": channel.phone_number_id,
                },
            }
            if contact is not None:
                value["contacts"] = []
            value[channel.kind] = []
            entry["changes"].append({"value": value, "field": "messages"})
        if contact is not None:
            seen = seen_contacts.setdefault(channel, set())
            wa_id = str(contact.get("wa_id"))
            if wa_id not in seen:
                seen.add(wa_id)
                value.setdefault("contacts", []).append(contact)
        value[channel.kind].append(item)
    return {"object": OBJECT, "entry": list(entries.values())}
