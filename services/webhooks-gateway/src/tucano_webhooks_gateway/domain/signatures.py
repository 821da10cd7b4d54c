"""Meta signs each webhook delivery: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the
exact body bytes, keyed with the app secret. The check must run on the raw bytes: re-serialised
JSON (e.g. with non-ASCII unescaped) would not match."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_genuine(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of the signature header against the body."""
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def verify_subscription(mode: str, token: str, expected_token: str) -> bool:
    return mode == "subscribe" and hmac.compare_digest(token.encode(), expected_token.encode())
