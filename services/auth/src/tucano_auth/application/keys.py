"""Handlers for signing keys: make sure one is active, rotate, list the published ones."""

from __future__ import annotations

from datetime import timedelta

from tucano_auth.application.ports import Clock, KeyMaterial, KeyRepository
from tucano_auth.domain.keys import SigningKey, published


async def ensure_active_key(keys: KeyRepository, material: KeyMaterial) -> bool:
    """Create the first signing key if there is none; True if one was created."""
    kid, jwk, sealed = material.generate()
    return await keys.rotate(kid, jwk, sealed, only_if_none_active=True)


async def rotate_key(keys: KeyRepository, material: KeyMaterial, publish_lead_s: float) -> str:
    """Publish a new key now and sign with it after `publish_lead_s` (longer than verifiers
    cache the key set); the previous one stays published until its last tokens expire."""
    kid, jwk, sealed = material.generate()
    await keys.rotate(kid, jwk, sealed, only_if_none_active=False,
                      publish_lead_s=publish_lead_s)
    return kid


async def published_keys(keys: KeyRepository, clock: Clock,
                         token_ttl: timedelta) -> list[SigningKey]:
    return published(await keys.list(), clock.now(), token_ttl)
