"""Typed settings, read once from the environment.

Every service subclasses `BaseServiceSettings`. `load_settings` turns a validation failure into a
`ConfigError` whose message is one line naming the environment variable, so a misconfigured
service stops with that line rather than a traceback (see `lifecycle.main_entry`).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

ENV_PREFIX = "TUCANO_"


class ConfigError(Exception):
    """Configuration that stops a service from starting; the message is one line for humans."""


class BaseServiceSettings(BaseSettings):
    """Settings every service reads. Service-specific fields use explicit `validation_alias`es."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True,
                                      populate_by_name=True)

    log_level: str = Field("INFO", description="Python log level name")
    grpc_host: str = Field("127.0.0.1", description="Address the gRPC server binds")
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ URL")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL")
    shutdown_grace_s: float = Field(10.0, gt=0, description="Seconds in-flight RPCs get at stop")
    dependency_timeout_s: float = Field(5.0, gt=0, description="Start-up connect timeout")
    otel_exporter_otlp_endpoint: str = Field(
        "", validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OTLP/gRPC collector; empty disables export")
    jwt_issuer: str = Field("https://auth.tucano.local", description="`iss` of access tokens")
    jwt_audience: str = Field("tucano-api", description="`aud` of access tokens")
    auth_grpc_target: str = Field("127.0.0.1:50051", description="auth service, for the JWKS")
    tenants_grpc_target: str = Field("127.0.0.1:50052",
                                     description="tenants service, for tenant standing")

    @field_validator("amqp_url", "redis_url", "grpc_host", "auth_grpc_target", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class ServiceDatabaseSettings(BaseServiceSettings):
    """A service that owns a schema: its own DSN (a `database_url` field each service declares
    with its own variable and default) and the admin DSN its `migrate` command uses."""

    database_url: str
    database_admin_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres",
        validation_alias="TUCANO_DATABASE_ADMIN_URL",
        description="admin DSN, used only by `migrate` (provisioning and migrations)")

    @field_validator("database_url", "database_admin_url", mode="after")
    @classmethod
    def _postgres_dsn(cls, value: str) -> str:
        return validate_dsn(value, ("postgresql", "postgres"))


S = TypeVar("S", bound=BaseSettings)


def env_name(model: type[BaseSettings], field: str) -> str:
    """The environment variable a field is read from."""
    info = model.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    prefix = model.model_config.get("env_prefix", "")
    return f"{prefix}{field}".upper()


def load_settings(model: type[S], **overrides: Any) -> S:
    """Read `model` from the environment; raise ConfigError naming the first bad variable."""
    try:
        return model(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        name = field if field.isupper() else env_name(model, field)
        raise ConfigError(f"{name}: {first['msg']}") from None
    except SettingsError as exc:  # a complex field (list, dict...) whose value is not JSON
        match = re.search(r'field "([^"]+)"', str(exc))
        name = env_name(model, match.group(1)) if match else "settings"
        raise ConfigError(f"{name}: cannot parse the value (expected JSON)") from None


def validate_dsn(value: str, schemes: tuple[str, ...]) -> str:
    """A URL with one of `schemes` and a host; used by service settings for their DSNs."""
    if not value.strip():
        raise ValueError("must not be empty")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be a {'/'.join(schemes)} URL with a host")
    return value


def redact(url: str) -> str:
    """The URL with its password (in the user info or a `password=` parameter) replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))
