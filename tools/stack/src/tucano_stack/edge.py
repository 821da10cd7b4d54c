"""Envoy's configuration for the edge, rendered from the descriptor set and the settings.

One listener (TUCANO_EDGE_HOST:TUCANO_EDGE_PORT, codec AUTO) serves REST over HTTP/1.1 (through
the gRPC-JSON transcoder) and native gRPC over h2c. Routes match gRPC paths by proto package
(`/tucano.tenants.v1.` -> the tenants cluster): after transcoding Envoy re-matches on the gRPC
path, so REST and native gRPC share them. The transcoder's service list and the routes come from
the descriptor set; only the package -> process table (services.py) is written by hand.

Every reply Envoy makes itself (unknown path, malformed JSON, body too large, upstream down or
slow) is rewritten by `local_reply_config` into the same `google.rpc.Status` JSON the services'
errors get through `convert_grpc_status`. Facts behind the choices: the verified Envoy 1.40 notes
(reference/envoy.md), and what the tests in tests/e2e/test_edge_contract.py observe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tucano_kit.settings import ConfigError

from tucano_stack.descriptors import Catalogue, catalogue
from tucano_stack.services import BY_PACKAGE, ServiceSpec
from tucano_stack.settings import StackSettings

# Headers only Envoy may set (from the validated JWT, in a later issue); a client's copies are
# removed before anything reads them.
IDENTITY_HEADERS: tuple[str, ...] = ("x-tenant-id", "x-user-id", "x-user-role", "x-jwt-payload")

# Meta's webhook payloads reach 3 MB. Observed with 1.40: the limit binds raw google.api.HttpBody
# bodies (the webhook route), which the transcoder buffers (413 above it); JSON bodies of ordinary
# messages are converted as a stream and pass it (the services' gRPC limit, 16 MiB, applies).
MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024
# Responses are buffered to be transcoded: unset, anything above ~1 MiB became a 500 (observed).
MAX_RESPONSE_BODY_BYTES = 8 * 1024 * 1024
CONNECT_TIMEOUT_S = 1.0
MAX_DOWNSTREAM_CONNECTIONS = 10_000

# Replies Envoy makes itself, by HTTP status -> the google.rpc.Code the body carries
# (google/rpc/code.proto's HTTP mapping, read backwards). Any other status >= 400 gets UNKNOWN.
LOCAL_REPLY_CODES: dict[int, tuple[int, str]] = {
    400: (3, "INVALID_ARGUMENT"),  # malformed JSON / query the transcoder cannot map
    401: (16, "UNAUTHENTICATED"),  # jwt_authn
    403: (7, "PERMISSION_DENIED"),  # jwt_authn (audience), RBAC
    404: (5, "NOT_FOUND"),  # no RPC for this REST path, no route
    408: (4, "DEADLINE_EXCEEDED"),  # client too slow to send the request
    413: (8, "RESOURCE_EXHAUSTED"),  # body above MAX_REQUEST_BODY_BYTES
    429: (8, "RESOURCE_EXHAUSTED"),  # rate limited
    431: (8, "RESOURCE_EXHAUSTED"),  # headers too large
    500: (13, "INTERNAL"),
    501: (12, "UNIMPLEMENTED"),
    502: (14, "UNAVAILABLE"),
    503: (14, "UNAVAILABLE"),  # service down / no healthy upstream
    504: (4, "DEADLINE_EXCEEDED"),  # route timeout
}
UNKNOWN_CODE = 2

ACCESS_LOG_FORMAT: dict[str, str] = {
    "ts": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",  # the transcoder rewrites method/path
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "grpc_path": "%REQ(:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "duration_ms": "%DURATION%",
    "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    "cluster": "%UPSTREAM_CLUSTER%",
    "upstream": "%UPSTREAM_HOST%",
    "bytes_in": "%BYTES_RECEIVED%",
    "bytes_out": "%BYTES_SENT%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "user_agent": "%REQ(USER-AGENT)%",
}

# Envoy's own log lines, as JSON too (the stack's stdout is meant to be machine-readable).
APPLICATION_LOG_FORMAT: dict[str, str] = {
    "ts": "%Y-%m-%dT%T.%e", "level": "%l", "logger": "%n", "msg": "%j",
}


@dataclass(frozen=True)
class Route:
    package: str  # tucano.tenants.v1
    service: ServiceSpec


@dataclass(frozen=True)
class EdgeContext:
    settings: StackSettings
    catalogue: Catalogue
    descriptor_path: Path

    @property
    def routes(self) -> list[Route]:
        routes = []
        for package in self.catalogue.services_by_package:
            spec = BY_PACKAGE.get(package)
            if spec is None:
                raise ConfigError(
                    f"TUCANO_EDGE_DESCRIPTORS: proto package {package} has no owning process; "
                    "add it to tucano_stack.services.SERVICES")
            routes.append(Route(package, spec))
        return routes

    @property
    def clusters(self) -> list[ServiceSpec]:
        seen: dict[str, ServiceSpec] = {}
        for route in self.routes:
            seen.setdefault(route.service.name, route.service)
        return list(seen.values())


def _typed(type_url: str, **config: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_url}", **config}


def _address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _seconds(value: float) -> str:
    return f"{value:g}s"


# ---------------------------------------------------------------------------- HTTP filter chain
FilterBuilder = Callable[[EdgeContext], dict[str, Any]]


def strip_identity_headers(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": _typed(
            "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            mutations={"request_mutations": [{"remove": h} for h in IDENTITY_HEADERS]}),
    }


def grpc_json_transcoder(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": _typed(
            "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            proto_descriptor=str(ctx.descriptor_path),
            services=list(ctx.catalogue.services),
            print_options={
                "add_whitespace": False,
                "always_print_primitive_fields": True,
                "always_print_enums_as_ints": False,
                "preserve_proto_field_names": True,
            },
            convert_grpc_status=True,
            ignore_unknown_query_parameters=True,
            query_param_unescape_plus=True,
            max_request_body_size=MAX_REQUEST_BODY_BYTES,
            max_response_body_size=MAX_RESPONSE_BODY_BYTES,
            request_validation_options={"reject_unknown_method": True},
        ),
    }


def router(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.router",
        "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router"),
    }


# The edge's filters, in order. Later issues insert theirs here (envoy.md, "Filter order"):
#   cors            first, so preflights are answered before jwt_authn could refuse them
#   (strip)         client copies of identity headers go before jwt_authn writes the real ones
#   jwt_authn       after the strip; `claim_to_headers` -> x-tenant-id, x-user-id, x-user-role
#   local_ratelimit, ratelimit (RLS in tenants): per tenant, from jwt_authn's x-tenant-id
#   grpc_json_transcoder, router: last
HTTP_FILTERS: tuple[FilterBuilder, ...] = (
    strip_identity_headers,
    grpc_json_transcoder,
    router,
)


# ---------------------------------------------------------------------------- local replies
def _status_body(code: int) -> dict[str, Any]:
    return {
        "json_format": {"code": code, "message": "%LOCAL_REPLY_BODY%", "details": []},
        "content_type": "application/json",
    }


def _status_filter(op: str, status: int) -> dict[str, Any]:
    return {"status_code_filter": {"comparison": {
        "op": op, "value": {"default_value": status, "runtime_key": f"tucano.local_reply.{status}"},
    }}}


# A REST request: not gRPC, or gRPC only because the transcoder made it so (it records the REST
# path in x-envoy-original-path). Native gRPC callers keep Envoy's own grpc-status/grpc-message.
REST_REQUEST: dict[str, Any] = {"or_filter": {"filters": [
    {"header_filter": {"header": {"name": "content-type", "invert_match": True,
                                  "treat_missing_header_as_empty": True,
                                  "string_match": {"prefix": "application/grpc"}}}},
    {"header_filter": {"header": {"name": "x-envoy-original-path", "present_match": True}}},
]}}


def local_reply_config() -> dict[str, Any]:
    """Every error Envoy produces itself for a REST caller, as google.rpc.Status JSON:
    `{"code": <google.rpc.Code>, "message": "...", "details": []}`."""
    mappers = [
        {"filter": {"and_filter": {"filters": [_status_filter(op, status), REST_REQUEST]}},
         "body_format_override": _status_body(code)}
        for op, status, code in [*(("EQ", status, code)
                                   for status, (code, _) in LOCAL_REPLY_CODES.items()),
                                 ("GE", 400, UNKNOWN_CODE)]]
    return {"mappers": mappers}


# ---------------------------------------------------------------------------- the whole config
def route_config(ctx: EdgeContext) -> dict[str, Any]:
    routes = [{
        "name": route.package,
        "match": {"prefix": f"/{route.package}."},
        "route": {"cluster": route.service.cluster,
                  "timeout": _seconds(route.service.route_timeout_s)},
    } for route in ctx.routes]
    return {"name": "edge", "virtual_hosts": [
        {"name": "edge", "domains": ["*"], "routes": routes},
    ]}


def http_connection_manager(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": _typed(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            stat_prefix="edge",
            codec_type="AUTO",  # HTTP/1.1 for REST clients, h2c for gRPC clients
            use_remote_address=True,
            generate_request_id=True,
            always_set_request_id_in_response=True,
            normalize_path=True,
            merge_slashes=True,
            access_log=[{
                "name": "envoy.access_loggers.stdout",  # the file logger loses lines at stop
                "typed_config": _typed(
                    "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                    log_format={"json_format": ACCESS_LOG_FORMAT}),
            }],
            local_reply_config=local_reply_config(),
            route_config=route_config(ctx),
            http_filters=[build(ctx) for build in HTTP_FILTERS],
        ),
    }


def cluster(ctx: EdgeContext, spec: ServiceSpec) -> dict[str, Any]:
    return {
        "name": spec.cluster,
        "type": "STATIC",
        "connect_timeout": _seconds(CONNECT_TIMEOUT_S),
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {}}),
        },
        "load_assignment": {
            "cluster_name": spec.cluster,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(
                ctx.settings.grpc_host, ctx.settings.grpc_port(spec))}}]}],
        },
    }


def config(settings: StackSettings, descriptor_path: Path | None = None) -> dict[str, Any]:
    """Envoy's bootstrap configuration as a dict."""
    path = (descriptor_path or settings.descriptors).resolve()
    ctx = EdgeContext(settings=settings, catalogue=catalogue(path), descriptor_path=path)
    return {
        "admin": {"address": _address(settings.edge_admin_host, settings.edge_admin_port)},
        "application_log_config": {"log_format": {"json_format": APPLICATION_LOG_FORMAT}},
        "overload_manager": {"resource_monitors": [{
            "name": "envoy.resource_monitors.global_downstream_max_connections",
            "typed_config": _typed(
                "envoy.extensions.resource_monitors.downstream_connections.v3."
                "DownstreamConnectionsConfig",
                max_active_downstream_connections=MAX_DOWNSTREAM_CONNECTIONS),
        }]},
        "static_resources": {
            "listeners": [{
                "name": "edge",
                "address": _address(settings.edge_host, settings.edge_port),
                "filter_chains": [{"filters": [http_connection_manager(ctx)]}],
            }],
            "clusters": [cluster(ctx, spec) for spec in ctx.clusters],
        },
    }


HEADER = ("# Rendered by `tucano-stack render-edge` from {descriptors} and the TUCANO_* settings.\n"
          "# Do not edit: change tools/stack/src/tucano_stack/edge.py and re-render.\n")


def render(settings: StackSettings, descriptor_path: Path | None = None) -> str:
    """Envoy's bootstrap configuration as YAML."""
    cfg = config(settings, descriptor_path)
    header = HEADER.format(descriptors=(descriptor_path or settings.descriptors))
    return header + str(yaml.safe_dump(cfg, sort_keys=False, width=100))


def write(settings: StackSettings, out: Path, descriptor_path: Path | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(render(settings, descriptor_path))
    tmp.replace(out)
    return out
