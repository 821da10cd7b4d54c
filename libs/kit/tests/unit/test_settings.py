"""settings.load_settings: a bad environment variable is one line naming it; redact()."""

from __future__ import annotations

import pytest
from pydantic import Field, field_validator
from tucano_kit.settings import (
    BaseServiceSettings,
    ConfigError,
    env_name,
    load_settings,
    redact,
    validate_dsn,
)


class KitTestSettings(BaseServiceSettings):
    database_url: str = Field(
        "postgresql://tucano_kittest@127.0.0.1:5432/tucano",
        validation_alias="TUCANO_KITTEST_DATABASE_URL")
    grpc_port: int = Field(50099, ge=0, le=65535, validation_alias="TUCANO_KITTEST_GRPC_PORT")
    allowed_origins: list[str] = Field(
        default_factory=list, validation_alias="TUCANO_KITTEST_ALLOWED_ORIGINS")

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, value: str) -> str:
        return validate_dsn(value, ("postgresql", "postgres"))


def test_defaults_load() -> None:
    settings = load_settings(KitTestSettings)

    assert settings.grpc_port == 50099
    assert settings.database_url.startswith("postgresql://")


def test_environment_values_are_read_through_aliases_and_the_prefix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUCANO_KITTEST_GRPC_PORT", "6000")
    monkeypatch.setenv("TUCANO_SHUTDOWN_GRACE_S", "2.5")

    settings = load_settings(KitTestSettings)

    assert (settings.grpc_port, settings.shutdown_grace_s) == (6000, 2.5)


@pytest.mark.parametrize(("variable", "value", "fragment"), [
    ("TUCANO_KITTEST_DATABASE_URL", "mysql://u:s3cret@db/tucano", "postgresql"),
    ("TUCANO_KITTEST_DATABASE_URL", "postgresql://u:s3cret@/tucano", "host"),
    ("TUCANO_KITTEST_DATABASE_URL", "   ", "must not be empty"),
    ("TUCANO_KITTEST_GRPC_PORT", "70000", "65535"),
    ("TUCANO_KITTEST_GRPC_PORT", "eighty", "integer"),
    ("TUCANO_SHUTDOWN_GRACE_S", "0", "greater than 0"),
    ("TUCANO_REDIS_URL", " ", "must not be empty"),
    ("TUCANO_KITTEST_ALLOWED_ORIGINS", "not json", "parse"),
])
def test_a_bad_variable_is_a_one_line_config_error_naming_it(
        monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings(KitTestSettings)

    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    assert fragment in message
    assert "s3cret" not in message  # values, which may be secrets, are never echoed
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_overrides_are_validated_too() -> None:
    with pytest.raises(ConfigError, match=r"^TUCANO_KITTEST_GRPC_PORT: "):
        load_settings(KitTestSettings, TUCANO_KITTEST_GRPC_PORT=-1)


def test_env_name_uses_the_alias_or_the_prefix() -> None:
    assert env_name(KitTestSettings, "database_url") == "TUCANO_KITTEST_DATABASE_URL"
    assert env_name(KitTestSettings, "redis_url") == "TUCANO_REDIS_URL"
    assert env_name(KitTestSettings, "otel_exporter_otlp_endpoint") == (
        "OTEL_EXPORTER_OTLP_ENDPOINT")


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://svc:s3cret@db:5432/tucano", "postgresql://svc:***@db:5432/tucano"),
    ("postgresql://svc:p%40ss@db/tucano", "postgresql://svc:***@db/tucano"),
    ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
    ("amqp://guest:guest@mq:5672/", "amqp://guest:***@mq:5672/"),
    ("postgresql://svc@db/tucano", "postgresql://svc@db/tucano"),
    ("postgresql://db/tucano?user=svc&password=s3cret&sslmode=require",
     "postgresql://db/tucano?user=svc&password=***&sslmode=require"),
    ("postgresql://db/tucano?PASSWORD=s3cret", "postgresql://db/tucano?PASSWORD=***"),
])
def test_redact_hides_passwords(url: str, expected: str) -> None:
    assert redact(url) == expected
    assert "s3cret" not in redact(url)
