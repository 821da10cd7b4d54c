"""The webhooks gateway's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field
from tucano_kit.settings import ConfigError, ServiceDatabaseSettings


class WebhooksSettings(ServiceDatabaseSettings):
    database_url: str = Field(
        "postgresql://tucano_webhooks@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_WEBHOOKS_DATABASE_URL",
        description="DSN of the service's own login role")
    grpc_port: int = Field(50055, ge=0, le=65535,
                           validation_alias="TUCANO_WEBHOOKS_GATEWAY_GRPC_PORT")
    app_secret: str = Field("", validation_alias="TUCANO_WEBHOOKS_APP_SECRET",
                            description="Meta app secret: key of X-Hub-Signature-256")
    verify_token: str = Field("", validation_alias="TUCANO_WEBHOOKS_VERIFY_TOKEN",
                              description="token Meta echoes in the subscription handshake")

    def require_secrets(self) -> None:
        """`serve` needs both secrets; `migrate` does not."""
        for name, value in (("TUCANO_WEBHOOKS_APP_SECRET", self.app_secret),
                            ("TUCANO_WEBHOOKS_VERIFY_TOKEN", self.verify_token)):
            if len(value) < 16:
                raise ConfigError(f"{name}: is required (at least 16 characters)")
