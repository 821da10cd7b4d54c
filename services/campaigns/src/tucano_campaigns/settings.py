"""The campaigns service's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from tucano_kit.settings import BaseServiceSettings, validate_dsn


class CampaignsSettings(BaseServiceSettings):
    database_url: str = Field(
        "postgresql://tucano_campaigns@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_CAMPAIGNS_DATABASE_URL",
        description="DSN of the service's own login role")
    database_admin_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        validation_alias="TUCANO_DATABASE_ADMIN_URL",
        description="admin DSN, used only by `migrate`")
    grpc_port: int = Field(50053, ge=0, le=65535, validation_alias="TUCANO_CAMPAIGNS_GRPC_PORT")

    @field_validator("database_url", "database_admin_url")
    @classmethod
    def _dsn(cls, value: str) -> str:
        return validate_dsn(value, ("postgresql", "postgres"))
