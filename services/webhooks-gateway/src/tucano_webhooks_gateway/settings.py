"""The webhooks gateway's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from tucano_kit.settings import BaseServiceSettings, ConfigError, validate_dsn


class WebhooksSettings(BaseServiceSettings):
    database_url: str = Field(
        "postgresql://tucano_webhooks@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_WEBHOOKS_DATABASE_URL",
        description="DSN of the service's own login role")
    database_admin_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        validation_alias="TUCANO_DATABASE_ADMIN_URL",
        description="admin DSN, used only by `migrate`")
    grpc_port: int = Field(50055, ge=0, le=65535,
                           validation_alias="TUCANO_WEBHOOKS_GATEWAY_GRPC_PORT")
    app_secret: str = Field("", validation_alias="TUCANO_WEBHOOKS_APP_SECRET",
                            description="Meta app secret: key of X-Hub-Signature-256")
    verify_token: str = Field("", validation_alias="TUCANO_WEBHOOKS_VERIFY_TOKEN",
                              description="token Meta echoes in the subscription handshake")

    @field_validator("database_url", "database_admin_url")
    @classmethod
    def _dsn(cls, value: str) -> str:
        return validate_dsn(value, ("postgresql", "postgres"))

    def require_secrets(self) -> None:
        """`serve` needs both secrets; `migrate` does not."""
        for name, value in (("TUCANO_WEBHOOKS_APP_SECRET", self.app_secret),
                            ("TUCANO_WEBHOOKS_VERIFY_TOKEN", self.verify_token)):
            if len(value) < 16:
                raise ConfigError(f"{name}: is required (at least 16 characters)")
