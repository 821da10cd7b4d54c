"""The processes the local stack runs, and which proto package each one serves.

This table is the one hand-written mapping: proto package -> process. Which gRPC services exist
(for the transcoder and the routes) always comes from the descriptor set, never from here.
"""

from __future__ import annotations

from dataclasses import dataclass

SIM_COMMAND = "tucano-cloud-api-sim"


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # process and console-script suffix: `tucano-<name>`
    proto_package: str  # e.g. "tucano.tenants.v1"
    default_grpc_port: int
    db_role: str  # login role of its DSN: postgresql://<db_role>@host/<database>
    route_timeout_s: float = 15.0  # Envoy route timeout for every RPC of this service

    @property
    def key(self) -> str:
        """`webhooks-gateway` -> `webhooks_gateway` (settings fields, Envoy cluster names)."""
        return self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        return f"TUCANO_{self.key.upper()}"

    @property
    def command(self) -> str:
        return f"tucano-{self.name}"

    @property
    def port_env(self) -> str:
        return f"{self.env_prefix}_GRPC_PORT"

    @property
    def database_url_envs(self) -> tuple[str, ...]:
        """Variables a service may read its own DSN from (`TUCANO_<NAME>_DATABASE_URL`; the
        gateway's role is `tucano_webhooks`, so its schema-named variant is set as well)."""
        names = [f"{self.env_prefix}_DATABASE_URL"]
        schema_env = f"TUCANO_{self.db_role.removeprefix('tucano_').upper()}_DATABASE_URL"
        if schema_env not in names:
            names.append(schema_env)
        return tuple(names)

    @property
    def cluster(self) -> str:
        return self.key

    @property
    def route_prefix(self) -> str:
        """gRPC paths of this package: `/tucano.tenants.v1.` (after transcoding too)."""
        return f"/{self.proto_package}."


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("auth", "tucano.auth.v1", 50051, "tucano_auth"),
    ServiceSpec("tenants", "tucano.tenants.v1", 50052, "tucano_tenants"),
    # contact imports stream large CSV bodies through the transcoder
    ServiceSpec("campaigns", "tucano.campaigns.v1", 50053, "tucano_campaigns",
                route_timeout_s=300.0),
    ServiceSpec("messaging", "tucano.messaging.v1", 50054, "tucano_messaging"),
    ServiceSpec("webhooks-gateway", "tucano.webhooks.v1", 50055, "tucano_webhooks"),
)

BY_NAME: dict[str, ServiceSpec] = {s.name: s for s in SERVICES}
BY_PACKAGE: dict[str, ServiceSpec] = {s.proto_package: s for s in SERVICES}
