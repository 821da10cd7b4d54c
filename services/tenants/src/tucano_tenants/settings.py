"""The tenants service's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from tucano_kit.settings import BaseServiceSettings, validate_dsn


class TenantsSettings(BaseServiceSettings):
    database_url: str = Field(
        "postgresql://tucano_tenants@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_TENANTS_DATABASE_URL",
        description="DSN of the service's own login role")
    database_admin_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        validation_alias="TUCANO_DATABASE_ADMIN_URL",
        description="admin DSN, used only by `migrate`")
    grpc_port: int = Field(50052, ge=0, le=65535, validation_alias="TUCANO_TENANTS_GRPC_PORT")

    @field_validator("database_url", "database_admin_url")
    @classmethod
    def _dsn(cls, value: str) -> str:
        return validate_dsn(value, ("postgresql", "postgres"))
