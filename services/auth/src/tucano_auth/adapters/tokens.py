"""Signs access tokens (ES256) with the active key, which it reloads when keys rotate."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from tucano_auth.adapters.crypto import KeySealer
from tucano_auth.application.ports import KeyRepository


class TokenSigner:
    def __init__(self, keys: KeyRepository, sealer: KeySealer, *, issuer: str, audience: str,
                 ttl_s: int, reload_s: float = 30.0,
                 clock: Callable[[], float] = time.time):
        self._keys, self._sealer = keys, sealer
        self._issuer, self._audience, self._ttl = issuer, audience, ttl_s
        self._reload_s, self._clock = reload_s, clock
        self._active: tuple[str, Any] | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenSigner(kid={self._active[0] if self._active else None})"

    @property
    def ttl_s(self) -> int:
        return self._ttl

    async def reload(self) -> None:
        async with self._lock:
            kid, sealed = await self._keys.active_private_key()
            if self._active is None or self._active[0] != kid:
                pem = self._sealer.open(sealed, kid)
                self._active = (kid, serialization.load_pem_private_key(pem, password=None))
            self._loaded_at = self._clock()

    async def sign(self, *, subject: str, tenant_id: str | None = None, role: str | None = None,
                   session_id: str | None = None, extra: dict[str, Any] | None = None) -> str:
        """A signed access token with the standard claims; `extra` adds claims (e.g. typ)."""
        if self._active is None or self._clock() - self._loaded_at > self._reload_s:
            await self.reload()
        assert self._active is not None
        kid, key = self._active
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self._issuer, "aud": self._audience, "sub": subject,
            "jti": str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + self._ttl}
        if tenant_id:
            claims["tid"] = tenant_id
        if role:
            claims["role"] = role
        if session_id:
            claims["sid"] = session_id
        claims.update(extra or {})
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "JWT"})
