"""Key material: ES256 key pairs, sealed at rest with AES-256-GCM under the key-encryption key.

The kid is the RFC 7638 thumbprint of the public key. Private keys exist unsealed only in
memory, inside `TokenSigner`; they are never logged (their repr shows the kid only).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class SealError(Exception):
    """A sealed key could not be opened: wrong key-encryption key or corrupted data."""


class KeySealer:
    def __init__(self, kek: bytes):
        self._aead = AESGCM(kek)

    def __repr__(self) -> str:
        return "KeySealer(<redacted>)"

    def seal(self, plaintext: bytes, kid: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def open(self, sealed: bytes, kid: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], kid.encode())
        except Exception:
            raise SealError(f"cannot open signing key {kid}: wrong key-encryption key?") from None


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    return {"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"], "kid": thumbprint(jwk),
            "use": "sig", "alg": "ES256"}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an EC public key."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")},
                           separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")


class Es256KeyMaterial:
    """Implements the KeyMaterial port."""

    def __init__(self, sealer: KeySealer):
        self._sealer = sealer

    def generate(self) -> tuple[str, dict[str, Any], bytes]:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = public_jwk(private.public_key())
        pem = private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return jwk["kid"], jwk, self._sealer.seal(pem, jwk["kid"])
