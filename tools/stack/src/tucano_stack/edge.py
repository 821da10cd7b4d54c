"""Envoy's configuration for the edge, rendered from the descriptor set, the services' access
policies and the settings.

One listener (TUCANO_EDGE_HOST:TUCANO_EDGE_PORT, codec AUTO) serves REST over HTTP/1.1 (through
the gRPC-JSON transcoder) and native gRPC over h2c, or both over TLS (ALPN h2, http/1.1) when
TUCANO_EDGE_TLS_CERT and TUCANO_EDGE_TLS_KEY are set.

Access (one source, access.py): every RPC of the descriptor set and of the policies gets routes
for its gRPC path and for each of its REST paths. Public RPCs (the allow-list: sign-in, JWKS,
plans, Meta's webhook) and gRPC health need no token; every other request needs a valid one,
unknown paths included (a catch-all JWT rule): without a token they are 401, with one 404. RPCs
the edge does not expose (`Access.service()`, `Access.internal()`) are treated exactly like
unknown paths, so the edge does not even say that they exist.

The filters run in this order (envoy.md, "Filter order that worked"):
    edge_headers     strip client copies of identity headers; security headers on every reply
    cors             (if TUCANO_EDGE_CORS_ORIGINS) preflights answered before jwt_authn
    jwt_authn        auth's JWKS; claims -> x-tenant-id, x-user-id, x-user-role
    local_ratelimit  per-tenant backstop in Envoy's memory, looser than any plan
    ratelimit        the RLS in tenants, with descriptors chosen per route (route_limits)
    grpc_json_transcoder, router
Routes are matched twice: on the REST path (which the filters before the transcoder see: CORS,
JWT, rate limits) and, after transcoding, on the gRPC path (which the router uses).

Every reply Envoy makes itself (401 from jwt_authn, 404, 413, 429, 503, 504, ...) is rewritten
by `local_reply_config` into the `google.rpc.Status` JSON the services' errors get through
`convert_grpc_status`, with an ErrorInfo detail. Facts behind the choices: the verified Envoy
1.40 notes (reference/envoy.md), and what tests/e2e/test_edge_contract.py observes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tucano_kit.settings import ConfigError

from tucano_stack.access import (
    EdgeRpc,
    Exposure,
    Policies,
    edge_table,
    load_policies,
    template_regex,
)
from tucano_stack.descriptors import Catalogue, catalogue
from tucano_stack.services import BY_NAME, BY_PACKAGE, ServiceSpec
from tucano_stack.settings import StackSettings

# Headers only Envoy may set, from the verified token; a client's copies are removed first.
# (jwt_authn also drops client copies of its claim_to_headers names, on every route.)
CLAIM_HEADERS: dict[str, str] = {"x-tenant-id": "tid", "x-user-id": "sub", "x-user-role": "role"}
IDENTITY_HEADERS: tuple[str, ...] = (*CLAIM_HEADERS, "x-jwt-payload")

# Meta's webhook payloads reach 3 MB. Observed with 1.40: the limit binds raw google.api.HttpBody
# bodies (the webhook route), which the transcoder buffers (413 above it); JSON bodies of ordinary
# messages are converted as a stream and pass it (the services' gRPC limit, 16 MiB, applies).
MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024
# Responses are buffered to be transcoded: unset, anything above ~1 MiB became a 500 (observed).
MAX_RESPONSE_BODY_BYTES = 8 * 1024 * 1024
CONNECT_TIMEOUT_S = 1.0
MAX_DOWNSTREAM_CONNECTIONS = 10_000

# ---------------------------------------------------------------------------- JWT
JWT_PROVIDER = "tucano"
JWKS_RPC = "/tucano.auth.v1.AuthService/GetJwks"
JWKS_CLUSTER = "jwks"
JWKS_FETCH_TIMEOUT_S = 2.0
JWKS_FAILED_REFETCH_S = 1.0
MAX_TOKEN_LIFETIME_S = 3600  # auth issues 10-minute tokens (at most TUCANO_AUTH_ACCESS_TOKEN_TTL_S)
CLOCK_SKEW_S = 30  # the services' leeway (tucano_kit.auth.TokenVerifier)

# gRPC health through the edge needs no token; it answers for this service (the edge's own
# dependency: tokens cannot be checked without auth's keys).
HEALTH_PREFIX = "/grpc.health.v1.Health/"
HEALTH_SERVICE = "auth"

# ---------------------------------------------------------------------------- rate limits
RATE_LIMIT_DOMAIN = "tucano"
RLS_CLUSTER = "rls"
RLS_SERVICE = "tenants"  # serves envoy.service.ratelimit.v3.RateLimitService
RLS_TIMEOUT_S = 0.1  # Envoy's default, 20 ms, silently fails open under load
# Public sign-in RPCs: limited per client address ([route=auth, remote_address=<ip>]).
SIGN_IN_RPCS: frozenset[str] = frozenset(f"/tucano.auth.v1.AuthService/{m}" for m in (
    "Signup", "Login", "Refresh", "AcceptInvitation"))
SIGN_IN_ROUTE = "auth"
# Heavy RPCs: limited per tenant on their own as well ([tenant=<id>, route=<name>]). Absent
# RPCs (not written yet) are skipped.
HEAVY_RPCS: dict[str, str] = {
    "/tucano.campaigns.v1.ContactsService/ImportContacts": "import",
    "/tucano.campaigns.v1.CampaignsService/LaunchCampaign": "launch",
}
# Backstop in Envoy's memory, per tenant; far above any plan, so only a runaway tenant meets it
# (e.g. while the RLS is down and the edge fails open). Requests without a tenant (the public
# RPCs) share the default bucket.
LOCAL_TENANT_TOKENS = 500
LOCAL_DEFAULT_TOKENS = 5000
LOCAL_FILL_INTERVAL_S = 1.0
LOCAL_MAX_TENANTS = 10_000

# ---------------------------------------------------------------------------- response headers
SECURITY_HEADERS: dict[str, str] = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
# An authenticated API's answers are never stored by caches; only the JWKS may be, briefly (as
# long as the edge itself keeps it, so a rotated key reaches every verifier about as fast).
NO_STORE = "no-store"
CACHEABLE_RPCS: dict[str, str] = {JWKS_RPC: "public, max-age={jwks_cache_s}"}
HSTS = "max-age=31536000; includeSubDomains"  # only with TLS (RFC 6797 ignores it over HTTP)
REMOVED_RESPONSE_HEADERS = ("x-envoy-ratelimited",)

CORS_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = "authorization, content-type, x-request-id, idempotency-key"
CORS_EXPOSE_HEADERS = ("x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, "
                       "x-ratelimit-reset")
CORS_MAX_AGE_S = 600

# ---------------------------------------------------------------------------- local replies
# Replies Envoy makes itself, by HTTP status -> the google.rpc.Code the body carries (from
# google/rpc/code.proto's HTTP mapping, read backwards), the ErrorInfo reason, and a fixed
# message where Envoy's own text would say nothing useful or too much (upstream addresses).
# Any other status >= 400 gets UNKNOWN.
ERROR_DOMAIN = "edge.tucano"
NOT_FOUND_MESSAGE = "not found: %REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%"


@dataclass(frozen=True)
class LocalError:
    code: int  # google.rpc.Code
    reason: str  # ErrorInfo.reason
    message: str = "%LOCAL_REPLY_BODY%"
    status: int | None = None  # the HTTP status to answer with instead of Envoy's


LOCAL_REPLY_CODES: dict[int, LocalError] = {
    400: LocalError(3, "INVALID_ARGUMENT"),  # malformed JSON / query the transcoder cannot map
    401: LocalError(16, "UNAUTHENTICATED"),  # jwt_authn: missing, invalid or expired token
    # jwt_authn's only 403: a valid token for another audience. That is a token this API does
    # not accept, so UNAUTHENTICATED/401 like any other bad token (for gRPC callers too).
    403: LocalError(16, "UNAUTHENTICATED", status=401),
    404: LocalError(5, "NOT_FOUND", NOT_FOUND_MESSAGE),  # no RPC here (or not exposed)
    408: LocalError(4, "DEADLINE_EXCEEDED"),  # client too slow to send the request
    413: LocalError(8, "BODY_TOO_LARGE"),  # body above MAX_REQUEST_BODY_BYTES
    429: LocalError(8, "RATE_LIMITED", "too many requests; retry after Retry-After seconds"),
    431: LocalError(8, "HEADERS_TOO_LARGE"),
    500: LocalError(13, "INTERNAL", "internal error at the edge"),
    501: LocalError(12, "UNIMPLEMENTED"),
    502: LocalError(14, "UNAVAILABLE", "the service is unavailable"),
    503: LocalError(14, "UNAVAILABLE", "the service is unavailable"),  # down / no upstream
    504: LocalError(4, "DEADLINE_EXCEEDED", "the service did not answer in time"),
}
UNKNOWN_ERROR = LocalError(2, "UNKNOWN")

ACCESS_LOG_FORMAT: dict[str, str] = {
    "ts": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",  # the transcoder rewrites method/path
    # Without the query: it may carry secrets (a misplaced ?access_token=, Meta's
    # hub.verify_token) and logs must never hold them.
    "path": "%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "grpc_path": "%REQ_WITHOUT_QUERY(:PATH)%",
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
    "tenant": "%REQ(X-TENANT-ID)%",  # from the verified token only
    "user": "%REQ(X-USER-ID)%",
}

# Envoy's own log lines, as JSON too (the stack's stdout is meant to be machine-readable).
APPLICATION_LOG_FORMAT: dict[str, str] = {
    "ts": "%Y-%m-%dT%T.%e", "level": "%l", "logger": "%n", "msg": "%j",
}


@dataclass(frozen=True)
class EdgeContext:
    settings: StackSettings
    catalogue: Catalogue
    descriptor_path: Path
    rpcs: tuple[EdgeRpc, ...]

    @property
    def clusters(self) -> list[ServiceSpec]:
        """Every process a route may lead to, each once."""
        specs = [*(BY_PACKAGE[p] for p in self.catalogue.services_by_package),
                 *(r.service for r in self.rpcs if r.exposure is not Exposure.HIDDEN),
                 BY_NAME[HEALTH_SERVICE]]
        return list({spec.name: spec for spec in specs}.values())

    def rpc(self, path: str) -> EdgeRpc | None:
        return next((r for r in self.rpcs if r.path == path), None)


def context(settings: StackSettings, descriptor_path: Path,
            policies: Policies | None = None) -> EdgeContext:
    found = catalogue(descriptor_path)
    for package in found.services_by_package:
        if package not in BY_PACKAGE:
            raise ConfigError(
                f"TUCANO_EDGE_DESCRIPTORS: proto package {package} has no owning process; "
                "add it to tucano_stack.services.SERVICES")
    table = edge_table(found, load_policies() if policies is None else policies)
    return EdgeContext(settings, found, descriptor_path, tuple(table))


def _typed(type_url: str, **config: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/{type_url}", **config}


# %REQ_WITHOUT_QUERY(...)% is an extension formatter: a format using it must name it.
REQ_WITHOUT_QUERY = [{"name": "envoy.formatter.req_without_query", "typed_config": _typed(
    "envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery")}]


def _address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _header(key: str, value: str, action: str = "OVERWRITE_IF_EXISTS_OR_ADD") -> dict[str, Any]:
    return {"header": {"key": key, "value": value}, "append_action": action}


def _runtime_percent(key: str) -> dict[str, Any]:
    return {"runtime_key": key, "default_value": {"numerator": 100, "denominator": "HUNDRED"}}


# ---------------------------------------------------------------------------- matching
def rpc_matches(rpc: EdgeRpc) -> list[dict[str, Any]]:
    """RouteMatches for an RPC: its gRPC path, and each REST rule (path template and method)."""
    return [{"path": rpc.path}, *({
        "safe_regex": {"regex": template_regex(rule.path)},
        "headers": [{"name": ":method", "string_match": {"exact": rule.method}}],
    } for rule in rpc.http)]


CATCH_ALL: dict[str, Any] = {"prefix": "/"}
PREFLIGHT: dict[str, Any] = {"prefix": "/", "headers": [
    {"name": ":method", "string_match": {"exact": "OPTIONS"}},
    {"name": "access-control-request-method", "present_match": True}]}


# ---------------------------------------------------------------------------- HTTP filter chain
FilterBuilder = Callable[["EdgeContext"], dict[str, Any] | None]


def edge_headers(ctx: EdgeContext) -> dict[str, Any]:
    """First filter: a client's identity headers never get further; and, being first, its
    encoder sees every reply, Envoy's own included, so every one gets the security headers."""
    response: list[dict[str, Any]] = [
        {"append": _header(k, v)} for k, v in SECURITY_HEADERS.items()]
    response.append({"append": _header("cache-control", NO_STORE, "ADD_IF_ABSENT")})
    if ctx.settings.tls:
        response.append({"append": _header("strict-transport-security", HSTS)})
    response += [{"remove": name} for name in REMOVED_RESPONSE_HEADERS]
    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": _typed(
            "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            mutations={"request_mutations": [{"remove": h} for h in IDENTITY_HEADERS],
                       "response_mutations": response}),
    }


def cors(ctx: EdgeContext) -> dict[str, Any] | None:
    if not ctx.settings.cors_origins:
        return None
    return {"name": "envoy.filters.http.cors",
            "typed_config": _typed("envoy.extensions.filters.http.cors.v3.Cors")}


def cors_policy(settings: StackSettings) -> dict[str, Any]:
    return _typed(
        "envoy.extensions.filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match=[{"exact": origin} for origin in settings.cors_origins],
        allow_methods=CORS_ALLOW_METHODS,
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=str(CORS_MAX_AGE_S),
    )


def jwt_provider(ctx: EdgeContext) -> dict[str, Any]:
    settings = ctx.settings
    return {
        "issuer": settings.jwt_issuer,
        "audiences": [settings.jwt_audience],
        "remote_jwks": {
            "http_uri": {"uri": jwks_uri(ctx),
                         "cluster": JWKS_CLUSTER, "timeout": _seconds(JWKS_FETCH_TIMEOUT_S)},
            "cache_duration": _seconds(settings.edge_jwks_cache_s),
            # fast_listener: the keys come through this very listener, so the first fetch
            # cannot succeed before it listens (it is retried every failed_refetch_duration)
            "async_fetch": {"fast_listener": True,
                            "failed_refetch_duration": _seconds(JWKS_FAILED_REFETCH_S)},
        },
        # Only `Authorization: Bearer`; the defaults would also read ?access_token= (URLs end up
        # in logs and Referer headers).
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        "forward": True,  # the services verify the token again
        "require_expiration": True,
        "max_lifetime": _seconds(MAX_TOKEN_LIFETIME_S),
        "clock_skew_seconds": CLOCK_SKEW_S,
        "claim_to_headers": [{"header_name": h, "claim_name": c}
                             for h, c in CLAIM_HEADERS.items()],
    }


def jwt_rules(ctx: EdgeContext) -> list[dict[str, Any]]:
    """The allow-list (public RPCs, gRPC health), then a token for everything else."""
    rules: list[dict[str, Any]] = [
        {"match": match} for rpc in ctx.rpcs if rpc.exposure is Exposure.PUBLIC
        for match in rpc_matches(rpc)]
    rules.append({"match": {"prefix": HEALTH_PREFIX}})
    rules.append({"match": CATCH_ALL, "requires": {"provider_name": JWT_PROVIDER}})
    return rules


def jwt_authn(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": _typed(
            "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            providers={JWT_PROVIDER: jwt_provider(ctx)},
            rules=jwt_rules(ctx)),
    }


def _bucket(tokens: int) -> dict[str, Any]:
    return {"max_tokens": tokens, "tokens_per_fill": tokens,
            "fill_interval": _seconds(LOCAL_FILL_INTERVAL_S)}


TENANT_ACTION: dict[str, Any] = {
    "request_headers": {"header_name": "x-tenant-id", "descriptor_key": "tenant"}}


def local_ratelimit(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.local_ratelimit",
        "typed_config": _typed(
            "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
            stat_prefix="edge_local_rate_limit",
            token_bucket=_bucket(LOCAL_DEFAULT_TOKENS),
            filter_enabled=_runtime_percent("tucano.local_rate_limit.enabled"),
            filter_enforced=_runtime_percent("tucano.local_rate_limit.enforced"),
            rate_limits=[{"actions": [TENANT_ACTION]}],
            descriptors=[{"entries": [{"key": "tenant"}],  # no value: one bucket per tenant
                          "token_bucket": _bucket(LOCAL_TENANT_TOKENS)}],
            max_dynamic_descriptors=LOCAL_MAX_TENANTS,
            always_consume_default_token_bucket=False,
            rate_limited_as_resource_exhausted=True,
            # Its own x-ratelimit-* headers would go on every response, next to the RLS's
            # (the plan's); it says the same on its refusals only (these are added to those).
            response_headers_to_add=[
                _header("retry-after", str(max(1, round(LOCAL_FILL_INTERVAL_S)))),
                _header("x-ratelimit-limit", str(LOCAL_TENANT_TOKENS)),
                _header("x-ratelimit-remaining", "0"),
                _header("x-ratelimit-reset", str(max(1, round(LOCAL_FILL_INTERVAL_S))))]),
    }


def ratelimit(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.ratelimit",
        "typed_config": _typed(
            "envoy.extensions.filters.http.ratelimit.v3.RateLimit",
            domain=RATE_LIMIT_DOMAIN,
            timeout=_seconds(RLS_TIMEOUT_S),
            failure_mode_deny=False,  # RLS down or slow: serve (the local backstop still caps)
            rate_limited_as_resource_exhausted=True,
            enable_x_ratelimit_headers="DRAFT_VERSION_03",
            rate_limit_service={"transport_api_version": "V3",
                                "grpc_service": {"envoy_grpc": {"cluster_name": RLS_CLUSTER}}}),
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
        # no x-envoy-upstream-service-time and friends in responses
        "typed_config": _typed("envoy.extensions.filters.http.router.v3.Router",
                               suppress_envoy_headers=True),
    }


# The edge's filters, in order (a builder may return None: not configured).
HTTP_FILTERS: tuple[FilterBuilder, ...] = (
    edge_headers,
    cors,
    jwt_authn,
    local_ratelimit,
    ratelimit,
    grpc_json_transcoder,
    router,
)


# ---------------------------------------------------------------------------- local replies
def _status_body(error: LocalError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "json_format": {"code": error.code, "message": error.message, "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": error.reason, "domain": ERROR_DOMAIN,
        }]},
        "content_type": "application/json",
    }
    if "%REQ_WITHOUT_QUERY(" in error.message:
        body["formatters"] = REQ_WITHOUT_QUERY
    return body


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
    `{"code": <google.rpc.Code>, "message": "...", "details": [<ErrorInfo>]}`."""
    cases = [*(("EQ", status, error) for status, error in LOCAL_REPLY_CODES.items()),
             ("GE", 400, UNKNOWN_ERROR)]
    rest = [{"filter": {"and_filter": {"filters": [_status_filter(op, status), REST_REQUEST]}},
             "body_format_override": _status_body(error),
             **({"status_code": error.status} if error.status else {})}
            for op, status, error in cases]
    grpc = [{"filter": _status_filter("EQ", status), "status_code": error.status}
            for status, error in LOCAL_REPLY_CODES.items() if error.status]
    return {"mappers": rest + grpc}  # first match wins: gRPC ones only see non-REST replies


# ---------------------------------------------------------------------------- routes
def route_limits(rpc: EdgeRpc) -> list[dict[str, Any]]:
    """The descriptors Envoy sends the RLS for this RPC (the contract with tenants' RLS)."""
    if rpc.exposure is Exposure.TOKEN:
        limits = [{"actions": [TENANT_ACTION]}]
        if rpc.path in HEAVY_RPCS:
            limits.append({"actions": [TENANT_ACTION, {"generic_key": {
                "descriptor_key": "route", "descriptor_value": HEAVY_RPCS[rpc.path]}}]})
        return limits
    if rpc.exposure is Exposure.PUBLIC and rpc.path in SIGN_IN_RPCS:
        return [{"actions": [
            {"generic_key": {"descriptor_key": "route", "descriptor_value": SIGN_IN_ROUTE}},
            {"remote_address": {}}]}]
    return []


def not_found() -> dict[str, Any]:
    return {"direct_response": {"status": 404}}


def rpc_routes(ctx: EdgeContext, rpc: EdgeRpc) -> list[dict[str, Any]]:
    if rpc.exposure is Exposure.HIDDEN:
        return [{"name": rpc.path, "match": match, **not_found()} for match in rpc_matches(rpc)]
    action: dict[str, Any] = {"cluster": rpc.service.cluster,
                              "timeout": _seconds(rpc.service.route_timeout_s)}
    limits = route_limits(rpc)
    if limits:
        action["rate_limits"] = limits
    extra: dict[str, Any] = {}
    if rpc.path in CACHEABLE_RPCS:
        value = CACHEABLE_RPCS[rpc.path].format(jwks_cache_s=ctx.settings.edge_jwks_cache_s)
        extra["response_headers_to_add"] = [_header("cache-control", value)]
    return [{"name": rpc.path, "match": match, "route": action, **extra}
            for match in rpc_matches(rpc)]


def route_config(ctx: EdgeContext) -> dict[str, Any]:
    health = BY_NAME[HEALTH_SERVICE]
    routes = [
        {"name": "grpc-health", "match": {"prefix": HEALTH_PREFIX},
         "route": {"cluster": health.cluster, "timeout": _seconds(health.route_timeout_s)}},
        *(route for rpc in ctx.rpcs for route in rpc_routes(ctx, rpc)),
        # Unknown paths. (A REST path the regexes above miss but the transcoder maps is still
        # served: after transcoding, the request is re-matched on its gRPC path.)
        {"name": "not-found", "match": CATCH_ALL, **not_found()},
    ]
    host: dict[str, Any] = {"name": "edge", "domains": ["*"], "routes": routes}
    if ctx.settings.cors_origins:
        host["typed_per_filter_config"] = {"envoy.filters.http.cors": cors_policy(ctx.settings)}
        # The cors filter answers preflights only on a route that forwards (observed: not on a
        # direct_response route, which every OPTIONS would otherwise reach). One it answers
        # never gets here; one it does not (origin not allowed) still needs a token.
        routes.insert(0, {"name": "cors-preflight", "match": PREFLIGHT,
                          "route": {"cluster": health.cluster}})
    return {"name": "edge", "virtual_hosts": [host]}


# ---------------------------------------------------------------------------- listeners
def http_connection_manager(ctx: EdgeContext) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": _typed(
            "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            stat_prefix="edge",
            codec_type="AUTO",  # HTTP/1.1 for REST clients, h2(c) for gRPC clients
            use_remote_address=True,
            generate_request_id=True,
            always_set_request_id_in_response=True,
            normalize_path=True,
            merge_slashes=True,
            server_header_transformation="PASS_THROUGH",  # no `server: envoy`
            # x_tenant_id must not become x-tenant-id anywhere behind us
            common_http_protocol_options={"headers_with_underscores_action": "DROP_HEADER"},
            access_log=[{
                "name": "envoy.access_loggers.stdout",  # the file logger loses lines at stop
                "typed_config": _typed(
                    "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                    log_format={"json_format": ACCESS_LOG_FORMAT,
                                "formatters": REQ_WITHOUT_QUERY}),
            }],
            local_reply_config=local_reply_config(),
            route_config=route_config(ctx),
            http_filters=[f for build in HTTP_FILTERS if (f := build(ctx)) is not None],
        ),
    }


def tls_transport_socket(settings: StackSettings) -> dict[str, Any]:
    return {"name": "envoy.transport_sockets.tls", "typed_config": _typed(
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context={
            "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
            "tls_certificates": [{
                "certificate_chain": {"filename": str(Path(settings.edge_tls_cert).resolve())},
                "private_key": {"filename": str(Path(settings.edge_tls_key).resolve())},
            }],
            "alpn_protocols": ["h2", "http/1.1"],  # native gRPC over TLS needs h2
        })}


def edge_listener(ctx: EdgeContext) -> dict[str, Any]:
    chain: dict[str, Any] = {"filters": [http_connection_manager(ctx)]}
    if ctx.settings.tls:
        chain["transport_socket"] = tls_transport_socket(ctx.settings)
    return {"name": "edge", "address": _address(ctx.settings.edge_host, ctx.settings.edge_port),
            "filter_chains": [chain]}


def jwks_uri(ctx: EdgeContext) -> str:
    host = jwks_host(ctx.settings)
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if ctx.settings.tls else "http"
    return f"{scheme}://{host}:{ctx.settings.edge_port}{jwks_path(ctx)}"


def jwks_path(ctx: EdgeContext) -> str:
    rpc = ctx.rpc(JWKS_RPC)
    rules = [r for r in rpc.http if r.method == "GET"] if rpc else []
    if not rules:
        raise ConfigError(f"TUCANO_EDGE_DESCRIPTORS: {JWKS_RPC} with a GET rule is missing; "
                          "the edge cannot check tokens without it")
    return rules[0].path


# ---------------------------------------------------------------------------- clusters
def _http2() -> dict[str, Any]:
    return {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": _typed(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config={"http2_protocol_options": {}})}


def _endpoint(name: str, address: dict[str, Any]) -> dict[str, Any]:
    return {"cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}]}


def cluster(ctx: EdgeContext, spec: ServiceSpec, name: str | None = None) -> dict[str, Any]:
    name = name or spec.cluster
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": _seconds(CONNECT_TIMEOUT_S),
        "typed_extension_protocol_options": _http2(),  # gRPC: HTTP/2 or every call fails
        "load_assignment": _endpoint(name, _address(
            ctx.settings.grpc_host, ctx.settings.grpc_port(spec))),
    }


def jwks_host(settings: StackSettings) -> str:
    """Where Envoy reaches its own listener (a wildcard bind answers on loopback too)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.edge_host, settings.edge_host)


def jwks_cluster(ctx: EdgeContext) -> dict[str, Any]:
    """Envoy fetches auth's JWKS from its own listener (auth speaks only gRPC: GET
    /.well-known/jwks.json is transcoded to GetJwks like any client's). HTTP/1.1; with TLS on,
    TLS to itself without verification (it is its own certificate, over loopback)."""
    settings = ctx.settings
    found: dict[str, Any] = {
        "name": JWKS_CLUSTER, "type": "STATIC", "connect_timeout": _seconds(CONNECT_TIMEOUT_S),
        "load_assignment": _endpoint(JWKS_CLUSTER, _address(jwks_host(settings),
                                                            settings.edge_port))}
    if settings.tls:
        found["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": _typed(
            "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            common_tls_context={"alpn_protocols": ["http/1.1"]})}
    return found


# ---------------------------------------------------------------------------- the whole config
def config(settings: StackSettings, descriptor_path: Path | None = None,
           policies: Policies | None = None) -> dict[str, Any]:
    """Envoy's bootstrap configuration as a dict. `policies` (service name -> POLICY) default
    to the services' own."""
    path = (descriptor_path or settings.descriptors).resolve()
    return bootstrap(context(settings, path, policies))


def bootstrap(ctx: EdgeContext) -> dict[str, Any]:
    settings = ctx.settings
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
            "listeners": [edge_listener(ctx)],
            "clusters": [*(cluster(ctx, spec) for spec in ctx.clusters),
                         cluster(ctx, BY_NAME[RLS_SERVICE], RLS_CLUSTER),
                         jwks_cluster(ctx)],
        },
    }


HEADER = ("# Rendered by `tucano-stack render-edge` from {descriptors}, the services' access\n"
          "# policies and the TUCANO_* settings.\n"
          "# Do not edit: change tools/stack/src/tucano_stack/edge.py and re-render.\n")
EXPOSURE_NOTES = {
    Exposure.PUBLIC: "no token needed at the edge",
    Exposure.TOKEN: "a valid token needed",
    Exposure.HIDDEN: "not routed (404, as an unknown path)",
}


def describe(rpcs: Sequence[EdgeRpc]) -> Mapping[Exposure, list[str]]:
    """RPC paths by exposure."""
    out: dict[Exposure, list[str]] = {e: [] for e in Exposure}
    for rpc in rpcs:
        out[rpc.exposure].append(rpc.path)
    return out


def render(settings: StackSettings, descriptor_path: Path | None = None,
           policies: Policies | None = None) -> str:
    """Envoy's bootstrap configuration as YAML, headed by what it exposes."""
    ctx = context(settings, (descriptor_path or settings.descriptors).resolve(), policies)
    cfg = bootstrap(ctx)
    lines = [HEADER.format(descriptors=(descriptor_path or settings.descriptors))]
    for kind, paths in describe(ctx.rpcs).items():
        lines.append(f"#\n# {kind.value}: {EXPOSURE_NOTES[kind]}\n")
        lines += [f"#   {p}\n" for p in paths]
    return "".join(lines) + str(yaml.safe_dump(cfg, sort_keys=False, width=100))


def write(settings: StackSettings, out: Path, descriptor_path: Path | None = None,
          policies: Policies | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(render(settings, descriptor_path, policies))
    tmp.replace(out)
    return out
