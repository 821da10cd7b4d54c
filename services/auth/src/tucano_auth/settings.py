"""The auth service's settings: the only module that reads the environment."""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, field_validator
from tucano_kit.settings import ConfigError, ServiceDatabaseSettings


class AuthSettings(ServiceDatabaseSettings):
    database_url: str = Field(
        "postgresql://tucano_auth@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_AUTH_DATABASE_URL",
        description="DSN of the service's own login role")
    grpc_port: int = Field(50051, ge=0, le=65535, validation_alias="TUCANO_AUTH_GRPC_PORT")
    key_encryption_key: str = Field(
        "", validation_alias="TUCANO_AUTH_KEY_ENCRYPTION_KEY",
        description="base64 of 32 random bytes; encrypts signing keys at rest (AES-256-GCM)")
    access_token_ttl_s: int = Field(600, ge=60, le=3600,
                                    validation_alias="TUCANO_AUTH_ACCESS_TOKEN_TTL_S")
    key_publish_lead_s: float = Field(
        90.0, ge=0, le=3600, validation_alias="TUCANO_AUTH_KEY_PUBLISH_LEAD_S",
        description="a rotated-in key is published this long before it signs: more than "
                    "verifiers (Envoy's JWKS cache) keep the key set")
    service_clients: str = Field(
        "", validation_alias="TUCANO_AUTH_SERVICE_CLIENTS",
        description="internal clients allowed service tokens: `id:secret,id2:secret2`")
    password_hash_concurrency: int = Field(
        2, ge=1, le=16, validation_alias="TUCANO_AUTH_PASSWORD_HASH_CONCURRENCY",
        description="argon2 hashes computed at once (each takes ~19 MiB and a core)")

    @field_validator("key_encryption_key")
    @classmethod
    def _kek(cls, value: str) -> str:
        if not value:
            return value  # only `serve` and `rotate-keys` need it; they check (kek_bytes)
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if len(raw) != 32:
            raise ValueError("must decode to exactly 32 bytes")
        return value

    @field_validator("service_clients")
    @classmethod
    def _clients(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            client, _, secret = entry.partition(":")
            if not client or len(secret) < 16:
                raise ValueError("entries must be `client_id:secret` with secrets of 16+ chars")
        return value

    @property
    def clients(self) -> dict[str, str]:
        pairs = (e.strip().partition(":") for e in self.service_clients.split(",") if e.strip())
        return {client: secret for client, _, secret in pairs}

    @property
    def kek_bytes(self) -> bytes:
        if not self.key_encryption_key:
            raise ConfigError("TUCANO_AUTH_KEY_ENCRYPTION_KEY: is required (base64 of 32 bytes)")
        return bytes(base64.b64decode(self.key_encryption_key))
