"""The campaigns service's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field
from tucano_kit.settings import ServiceDatabaseSettings


class CampaignsSettings(ServiceDatabaseSettings):
    database_url: str = Field(
        "postgresql://tucano_campaigns@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_CAMPAIGNS_DATABASE_URL",
        description="DSN of the service's own login role")
    grpc_port: int = Field(50053, ge=0, le=65535, validation_alias="TUCANO_CAMPAIGNS_GRPC_PORT")

    import_max_rows: int = Field(
        1_000_000, ge=1, validation_alias="TUCANO_CAMPAIGNS_IMPORT_MAX_ROWS",
        description="data rows one contact import may hold")
