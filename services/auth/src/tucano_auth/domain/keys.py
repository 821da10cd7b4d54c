"""Signing keys and their rotation policy.

One key is active (signs new tokens). Rotating makes a new key active and retires the old one;
a retired key stays published in the JWKS until every token it signed has expired
(`retired_at + token lifetime + leeway`), so rotation never invalidates a valid token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

VERIFY_LEEWAY = timedelta(seconds=60)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None

    @property
    def active(self) -> bool:
        return self.retired_at is None

    def published_at(self, now: datetime, token_ttl: timedelta) -> bool:
        """Whether verifiers still need this key at `now`."""
        return self.retired_at is None or now < self.retired_at + token_ttl + VERIFY_LEEWAY


def published(keys: list[SigningKey], now: datetime, token_ttl: timedelta) -> list[SigningKey]:
    """Keys to list in the JWKS, newest first."""
    return sorted((k for k in keys if k.published_at(now, token_ttl)),
                  key=lambda k: k.created_at, reverse=True)
