"""The tenants service's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field
from tucano_kit.settings import ServiceDatabaseSettings


class TenantsSettings(ServiceDatabaseSettings):
    database_url: str = Field(
        "postgresql://tucano_tenants@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_TENANTS_DATABASE_URL",
        description="DSN of the service's own login role")
    grpc_port: int = Field(50052, ge=0, le=65535, validation_alias="TUCANO_TENANTS_GRPC_PORT")

