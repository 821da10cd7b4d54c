"""The messaging service's settings: the only module that reads the environment."""

from __future__ import annotations

from pydantic import Field, field_validator
from tucano_kit.settings import ServiceDatabaseSettings, validate_dsn


class MessagingSettings(ServiceDatabaseSettings):
    database_url: str = Field(
        "postgresql://tucano_messaging@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_MESSAGING_DATABASE_URL",
        description="DSN of the service's own login role")
    grpc_port: int = Field(50054, ge=0, le=65535, validation_alias="TUCANO_MESSAGING_GRPC_PORT")
    graph_base_url: str = Field(
        "http://127.0.0.1:8090", validation_alias="TUCANO_GRAPH_BASE_URL",
        description="Cloud API base URL: the local simulator, or https://graph.facebook.com")
    graph_api_version: str = Field("v23.0", pattern=r"^v\d+\.\d+$",
                                   validation_alias="TUCANO_GRAPH_API_VERSION")

    @field_validator("graph_base_url")
    @classmethod
    def _graph(cls, value: str) -> str:
        return validate_dsn(value, ("http", "https")).rstrip("/")
