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

    # Envoy rate-limit service (entrypoints/grpc/ratelimit.py); counters in TUCANO_REDIS_URL.
    ratelimit_imports_per_minute: int = Field(
        10, ge=1, validation_alias="TUCANO_RATELIMIT_IMPORTS_PER_MINUTE",
        description="contact imports per tenant per minute")
    ratelimit_launches_per_minute: int = Field(
        30, ge=1, validation_alias="TUCANO_RATELIMIT_LAUNCHES_PER_MINUTE",
        description="campaign launches per tenant per minute")
    ratelimit_auth_per_ip_per_minute: int = Field(
        20, ge=1, validation_alias="TUCANO_RATELIMIT_AUTH_PER_IP_PER_MINUTE",
        description="sign-in requests per client address per minute")
    ratelimit_processes: int = Field(
        1, ge=1, validation_alias="TUCANO_RATELIMIT_PROCESSES",
        description="tenants processes serving the RLS; each allows limit / processes while"
                    " Redis is unreachable")
    ratelimit_redis_timeout_s: float = Field(
        0.05, gt=0, le=1, validation_alias="TUCANO_RATELIMIT_REDIS_TIMEOUT_S",
        description="Redis connect and reply timeout of the limiter (Envoy waits ~100 ms)")
    ratelimit_probe_interval_s: float = Field(
        1.0, gt=0, validation_alias="TUCANO_RATELIMIT_PROBE_INTERVAL_S",
        description="while Redis is unreachable, how often one request tries it again")
    ratelimit_limits_ttl_s: float = Field(
        3.0, gt=0, validation_alias="TUCANO_RATELIMIT_LIMITS_TTL_S",
        description="how long a tenant's plan limits are cached (a plan change takes effect"
                    " within this)")
