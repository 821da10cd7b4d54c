"""Ports of the auth application layer."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tucano_auth.domain.keys import SigningKey


class KeyMaterial(Protocol):
    """Creates key pairs and seals private keys; the application never sees key bytes."""

    def generate(self) -> tuple[str, dict[str, object], bytes]:
        """A new key: (kid, public JWK, sealed private key)."""
        ...


class KeyRepository(Protocol):
    async def list(self) -> list[SigningKey]: ...

    async def rotate(self, kid: str, public_jwk: dict[str, object], sealed_private_key: bytes,
                     *, only_if_none_active: bool) -> bool:
        """Store a new active key and retire the previous one, atomically; with
        `only_if_none_active`, do nothing (return False) if an active key exists."""
        ...

    async def active_private_key(self) -> tuple[str, bytes]:
        """(kid, sealed private key) of the active key."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
