"""The stack's settings: the same environment variables the services read, plus a few of its own.

Every value has the local default from ARCHITECTURE.md ("Running it") and can be overridden by
environment, so a second stack (the e2e tests) can run next to a developer's on other ports.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tucano_kit.settings import ConfigError, load_settings, validate_dsn

from tucano_stack.services import BY_NAME, SERVICES, ServiceSpec


def _port(default: int, env: str) -> Any:
    return Field(default, ge=1, le=65535, validation_alias=env)


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUCANO_", extra="ignore", frozen=True,
                                      populate_by_name=True)

    grpc_host: str = Field("127.0.0.1", description="Address every service's gRPC server binds")
    auth_grpc_port: int = _port(50051, "TUCANO_AUTH_GRPC_PORT")
    tenants_grpc_port: int = _port(50052, "TUCANO_TENANTS_GRPC_PORT")
    campaigns_grpc_port: int = _port(50053, "TUCANO_CAMPAIGNS_GRPC_PORT")
    messaging_grpc_port: int = _port(50054, "TUCANO_MESSAGING_GRPC_PORT")
    webhooks_gateway_grpc_port: int = _port(50055, "TUCANO_WEBHOOKS_GATEWAY_GRPC_PORT")

    edge_host: str = Field("127.0.0.1", validation_alias="TUCANO_EDGE_HOST")
    edge_port: int = _port(8080, "TUCANO_EDGE_PORT")
    edge_admin_host: str = Field("127.0.0.1", validation_alias="TUCANO_EDGE_ADMIN_HOST")
    edge_admin_port: int = _port(9901, "TUCANO_EDGE_ADMIN_PORT")
    edge_log_level: str = Field("warn", validation_alias="TUCANO_EDGE_LOG_LEVEL")
    edge_descriptors: str = Field("", validation_alias="TUCANO_EDGE_DESCRIPTORS",
                                  description="descriptor set; default build/descriptors.binpb")
    edge_tls_cert: str = Field("", validation_alias="TUCANO_EDGE_TLS_CERT",
                               description="PEM certificate chain; with the key, serve HTTPS")
    edge_tls_key: str = Field("", validation_alias="TUCANO_EDGE_TLS_KEY",
                              description="PEM private key of TUCANO_EDGE_TLS_CERT")
    edge_cors_origins: str = Field("", validation_alias="TUCANO_EDGE_CORS_ORIGINS",
                                   description="comma-separated exact origins; empty: no CORS")
    edge_jwks_cache_s: int = Field(30, ge=5, le=3600, validation_alias="TUCANO_EDGE_JWKS_CACHE_S",
                                   description="how long Envoy keeps auth's JWKS")
    # The same variables the services verify tokens with (tucano_kit BaseServiceSettings).
    jwt_issuer: str = Field("https://auth.tucano.local", validation_alias="TUCANO_JWT_ISSUER")
    jwt_audience: str = Field("tucano-api", validation_alias="TUCANO_JWT_AUDIENCE")

    sim_host: str = Field("127.0.0.1", validation_alias="SIM_HOST")
    sim_port: int = _port(8090, "SIM_PORT")

    database_admin_url: str = Field("postgresql://postgres@127.0.0.1:5432/postgres",
                                    validation_alias="TUCANO_DATABASE_ADMIN_URL")
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", validation_alias="TUCANO_AMQP_URL")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="TUCANO_REDIS_URL")
    dependency_timeout_s: float = Field(5.0, gt=0, validation_alias="TUCANO_DEPENDENCY_TIMEOUT_S")

    stack_services: str = Field(",".join(s.name for s in SERVICES),
                                validation_alias="TUCANO_STACK_SERVICES",
                                description="comma-separated subset of the services to run")
    stack_var_dir: str = Field("", validation_alias="TUCANO_STACK_VAR_DIR",
                               description="where envoy.yaml and Procfile go; default <repo>/var")
    stack_ready_timeout_s: float = Field(60.0, gt=0,
                                         validation_alias="TUCANO_STACK_READY_TIMEOUT_S")

    @field_validator("database_admin_url")
    @classmethod
    def _pg(cls, value: str) -> str:
        return validate_dsn(value, ("postgresql", "postgres"))

    @field_validator("amqp_url")
    @classmethod
    def _amqp(cls, value: str) -> str:
        return validate_dsn(value, ("amqp", "amqps"))

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        return validate_dsn(value, ("redis", "rediss"))

    @field_validator("stack_services")
    @classmethod
    def _services(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - set(BY_NAME))
        if unknown:
            raise ValueError(f"unknown services {unknown}; known: {sorted(BY_NAME)}")
        if not names:
            raise ValueError("must name at least one service")
        return ",".join(names)

    @field_validator("jwt_issuer", "jwt_audience")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("edge_tls_cert", "edge_tls_key")
    @classmethod
    def _readable(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> StackSettings:
        if bool(self.edge_tls_cert) != bool(self.edge_tls_key):
            raise ConfigError("TUCANO_EDGE_TLS_CERT and TUCANO_EDGE_TLS_KEY: set both "
                              "(HTTPS) or neither (plain HTTP)")
        return self

    @field_validator("edge_cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            parts = urlsplit(origin)
            if (parts.scheme not in ("http", "https") or not parts.hostname
                    or parts.path or parts.query or parts.fragment):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return value

    @field_validator("edge_log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        levels = {"trace", "debug", "info", "warning", "warn", "error", "critical", "off"}
        if value not in levels:
            raise ValueError(f"must be one of {sorted(levels)}")
        return value

    # ------------------------------------------------------------------ derived values
    def grpc_port(self, spec: ServiceSpec) -> int:
        return int(getattr(self, f"{spec.key}_grpc_port"))

    def grpc_address(self, spec: ServiceSpec) -> str:
        return f"{self.grpc_host}:{self.grpc_port(spec)}"

    @property
    def services(self) -> tuple[ServiceSpec, ...]:
        """The services this stack runs, in the canonical order."""
        wanted = set(self.stack_services.split(","))
        return tuple(s for s in SERVICES if s.name in wanted)

    @property
    def root(self) -> Path:
        return repo_root()

    @property
    def var_dir(self) -> Path:
        return Path(self.stack_var_dir) if self.stack_var_dir else self.root / "var"

    @property
    def descriptors(self) -> Path:
        if self.edge_descriptors:
            return Path(self.edge_descriptors)
        return self.root / "build" / "descriptors.binpb"

    @property
    def tls(self) -> bool:
        return bool(self.edge_tls_cert)

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.edge_cors_origins.split(",") if o.strip())

    @property
    def edge_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.edge_host}:{self.edge_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.edge_admin_host}:{self.edge_admin_port}"

    @property
    def sim_url(self) -> str:
        return f"http://{self.sim_host}:{self.sim_port}"


def repo_root() -> Path:
    """The repository: TUCANO_ROOT, else the checkout this package lives in, else the cwd."""
    if os.environ.get("TUCANO_ROOT"):
        return Path(os.environ["TUCANO_ROOT"]).resolve()
    for candidate in (Path(__file__).resolve().parents[4], Path.cwd()):
        if (candidate / "proto").is_dir() and (candidate / "scripts" / "gen_protos.py").is_file():
            return candidate
    raise ConfigError("TUCANO_ROOT: cannot find the repository (proto/ and scripts/gen_protos.py);"
                      " run from the checkout or set TUCANO_ROOT")


def load() -> StackSettings:
    return load_settings(StackSettings)


def venv_bin() -> Path:
    """The folder of the interpreter running us: where every console script lives."""
    return Path(sys.executable).parent


def search_path(env: Mapping[str, str] | None = None) -> str:
    """PATH with this interpreter's folder first, so every console script of the venv is found
    even when the venv is not activated."""
    current = (env if env is not None else os.environ).get("PATH", os.defpath)
    return os.pathsep.join([str(venv_bin()), current])


def command_path(command: str) -> str | None:
    """Where `command` is: the venv first, then PATH."""
    return shutil.which(command, path=search_path())
