"""The rendered Envoy config: built from the descriptor set and the services' access policies,
closed by default, and accepted by Envoy itself."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from tucano_kit.auth import Access, Role
from tucano_kit.settings import ConfigError, load_settings
from tucano_stack import edge
from tucano_stack.access import (
    Exposure,
    exposure,
    grpc_path,
    load_policies,
    sample_path,
    template_regex,
)
from tucano_stack.descriptors import HttpRule, catalogue
from tucano_stack.services import BY_NAME, SERVICES
from tucano_stack.settings import StackSettings, repo_root, venv_bin

DESCRIPTORS = repo_root() / "build" / "descriptors.binpb"

needs_descriptors = pytest.mark.skipif(not DESCRIPTORS.exists(),
                                       reason="run scripts/gen_protos.py first")


def hcm(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    return dict(listener["filter_chains"][0]["filters"][0]["typed_config"])


def http_filter(config: dict[str, Any], suffix: str) -> dict[str, Any]:
    [found] = [f for f in hcm(config)["http_filters"] if f["name"].endswith(suffix)]
    return dict(found["typed_config"])


def routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    return list(hcm(config)["route_config"]["virtual_hosts"][0]["routes"])


def clusters(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


def endpoint(cluster: dict[str, Any]) -> dict[str, Any]:
    return dict(cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"][
        "address"]["socket_address"])


# ---------------------------------------------------------------------------- a tiny matcher
def matches(match: dict[str, Any], method: str, path: str,
            headers: dict[str, str] | None = None) -> bool:
    """Envoy's RouteMatch, for the kinds the edge uses (path, prefix, safe_regex; headers)."""
    path = path.split("?", 1)[0]
    if "path" in match:
        found = path == match["path"]
    elif "prefix" in match:
        found = path.startswith(match["prefix"])
    else:
        found = re.fullmatch(match["safe_regex"]["regex"], path) is not None
    given = {":method": method, **(headers or {})}
    for header in match.get("headers", []):
        value = given.get(header["name"])
        if header.get("present_match"):
            found = found and value is not None
        else:
            found = found and value == header["string_match"]["exact"]
    return found


def first(items: list[dict[str, Any]], method: str, path: str) -> dict[str, Any]:
    return next(i for i in items if matches(i["match"], method, path))


@pytest.fixture
def settings() -> StackSettings:
    return load_settings(StackSettings, edge_port=28080, edge_admin_port=29901,
                         tenants_grpc_port=28152, auth_grpc_port=28151)


# ---------------------------------------------------------------------------- A2: rule coverage
@needs_descriptors
def test_every_rpc_of_every_policy_is_treated_as_its_access_says(
        settings: StackSettings) -> None:
    """reliability.md A2: public RPCs need no token; tenant and platform-operator RPCs need
    one; service-only and internal RPCs are not routed at all. For each RPC of each policy:
    its gRPC path, and each REST path of its google.api.http rules, as the request is matched
    before transcoding (JWT) and after (the route the router takes)."""
    policies = load_policies()
    assert set(policies) == {s.name for s in SERVICES}
    config = edge.config(settings)
    rules = http_filter(config, "jwt_authn")["rules"]
    table = routes(config)
    http: dict[str, list[HttpRule]] = defaultdict(list)
    for package_rules in catalogue(DESCRIPTORS).http_rules.values():
        for rule in package_rules:
            http[grpc_path(rule.rpc)].append(rule)
    checked = 0
    for service, policy in policies.items():
        spec = BY_NAME[service]
        for path, access in policy.items():
            rest = [(r.method, sample_path(r.path)) for r in http.get(path, [])]
            grpc_route = first(table, "POST", path)
            expected = exposure(access)
            for method, request in [("POST", path), *rest]:
                rule = first(rules, method, request)
                needs_token = "requires" in rule
                assert needs_token == (expected is not Exposure.PUBLIC), (path, request, rule)
                if needs_token:
                    assert rule["requires"] == {"provider_name": edge.JWT_PROVIDER}
                before = first(table, method, request)  # what the filters before the transcoder
                assert before["name"] in (path, "not-found"), (request, before)
                checked += 1
            if expected is Exposure.HIDDEN:
                assert grpc_route.get("direct_response") == {"status": 404}, path
                assert "route" not in grpc_route
            else:
                assert grpc_route["name"] == path
                assert grpc_route["route"]["cluster"] == spec.cluster, path
    assert checked >= sum(len(p) for p in policies.values())
    assert rules[-1] == {"match": {"prefix": "/"}, "requires": {"provider_name": "tucano"}}


@needs_descriptors
def test_every_rpc_of_the_descriptor_set_has_an_access_policy() -> None:
    """A service refuses to start with an RPC its policy does not name; the edge does not
    route one either (tested below). This catches the drift before either happens."""
    named = {path for policy in load_policies().values() for path in policy}
    declared = {path for paths in catalogue(DESCRIPTORS).methods_by_package.values()
                for path in paths}
    assert declared - named == set()


@needs_descriptors
def test_unknown_paths_and_health(settings: StackSettings) -> None:
    config = edge.config(settings)
    rules, table = http_filter(config, "jwt_authn")["rules"], routes(config)
    for method, path in [("GET", "/v1/no-such-thing"), ("POST", "/tucano.x.v1.X/Y"),
                         ("GET", "/v1/plans/../me"), ("GET", "/v1/auth:signup"),
                         ("POST", "/v1/auth:signup/x"), ("POST", "/v1/auth:signupx"),
                         ("POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")]:
        assert "requires" in first(rules, method, path), path
    assert "requires" not in first(rules, "POST", "/grpc.health.v1.Health/Check")
    assert first(table, "POST", "/grpc.health.v1.Health/Check")["route"]["cluster"] == "auth"
    assert first(table, "GET", "/v1/no-such-thing")["direct_response"] == {"status": 404}


def _descriptor_set(path: Path, methods: dict[str, list[tuple[str, str, str]]]) -> Path:
    """A descriptor set with `methods` per `package.Service`: (name, http method, path)."""
    fds = descriptor_pb2.FileDescriptorSet()
    for full, rpcs in methods.items():
        package, service_name = full.rsplit(".", 1)
        file = fds.file.add(name=f"{package.replace('.', '/')}/x.proto", package=package)
        file.message_type.add(name="M")
        service = file.service.add(name=service_name)
        for name, verb, template in rpcs:
            method = service.method.add(name=name, input_type=f".{package}.M",
                                        output_type=f".{package}.M")
            if verb:
                setattr(method.options.Extensions[annotations_pb2.http], verb.lower(), template)
    path.write_bytes(fds.SerializeToString())
    return path


SYNTHETIC = {
    "tucano.auth.v1.AuthService": [("GetJwks", "GET", "/.well-known/jwks.json"),
                                   ("Login", "POST", "/v1/auth:login"),
                                   ("Mystery", "POST", "/v1/auth:mystery")],
    "tucano.campaigns.v1.ContactsService": [("ImportContacts", "POST", "/v1/contacts:import"),
                                            ("GetContact", "GET", "/v1/contacts/{contact_id}")],
}
SYNTHETIC_POLICIES: dict[str, dict[str, Access]] = {
    "auth": {"/tucano.auth.v1.AuthService/GetJwks": Access.public(),
             "/tucano.auth.v1.AuthService/Login": Access.public()},
    "campaigns": {"/tucano.campaigns.v1.ContactsService/ImportContacts":
                  Access.tenant(Role.OPERATOR),
                  "/tucano.campaigns.v1.ContactsService/GetContact": Access.tenant(Role.VIEWER)},
}


def test_an_rpc_in_no_policy_is_not_routed(settings: StackSettings, tmp_path: Path) -> None:
    path = _descriptor_set(tmp_path / "d.binpb", SYNTHETIC)
    config = edge.config(settings, path, SYNTHETIC_POLICIES)
    mystery = first(routes(config), "POST", "/tucano.auth.v1.AuthService/Mystery")
    assert mystery["direct_response"] == {"status": 404}
    assert first(routes(config), "POST", "/v1/auth:mystery")["direct_response"] == {
        "status": 404}
    assert "requires" in first(http_filter(config, "jwt_authn")["rules"], "POST",
                               "/v1/auth:mystery")


def test_rate_limit_descriptors_per_route(settings: StackSettings, tmp_path: Path) -> None:
    """The contract with tenants' RLS: [tenant] on every route needing a token, plus
    [tenant, route=<name>] on heavy ones; [route=auth, remote_address] on sign-in."""
    path = _descriptor_set(tmp_path / "d.binpb", SYNTHETIC)
    table = routes(edge.config(settings, path, SYNTHETIC_POLICIES))
    tenant = {"request_headers": {"header_name": "x-tenant-id", "descriptor_key": "tenant"}}
    for method, request in [("POST", "/v1/contacts:import"),
                            ("POST", "/tucano.campaigns.v1.ContactsService/ImportContacts")]:
        assert first(table, method, request)["route"]["rate_limits"] == [
            {"actions": [tenant]},
            {"actions": [tenant, {"generic_key": {"descriptor_key": "route",
                                                  "descriptor_value": "import"}}]}]
    assert first(table, "GET", "/v1/contacts/c1")["route"]["rate_limits"] == [
        {"actions": [tenant]}]
    assert first(table, "POST", "/v1/auth:login")["route"]["rate_limits"] == [{"actions": [
        {"generic_key": {"descriptor_key": "route", "descriptor_value": "auth"}},
        {"remote_address": {}}]}]
    assert "rate_limits" not in first(table, "GET", "/.well-known/jwks.json")["route"]
    jwks = first(table, "GET", "/.well-known/jwks.json")
    assert jwks["response_headers_to_add"][0]["header"] == {
        "key": "cache-control", "value": f"public, max-age={settings.edge_jwks_cache_s}"}


# ---------------------------------------------------------------------------- filters
@needs_descriptors
def test_transcoder_lists_every_tucano_service_of_the_descriptor_set(
        settings: StackSettings) -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes())
    expected = sorted(f"{f.package}.{s.name}" for f in fds.file for s in f.service
                      if f.package.startswith("tucano."))
    transcoder = http_filter(edge.config(settings), "grpc_json_transcoder")
    assert sorted(transcoder["services"]) == expected
    assert transcoder["proto_descriptor"] == str(DESCRIPTORS.resolve())
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["ignore_unknown_query_parameters"] is True
    assert transcoder["query_param_unescape_plus"] is True
    assert transcoder["request_validation_options"] == {"reject_unknown_method": True}
    assert transcoder["print_options"]["preserve_proto_field_names"] is True
    assert transcoder["print_options"]["always_print_primitive_fields"] is True
    assert transcoder["max_request_body_size"] >= 8 * 1024 * 1024


@needs_descriptors
def test_clusters_are_http2_on_the_configured_ports(settings: StackSettings) -> None:
    config = edge.config(settings)
    found = clusters(config)
    packages = catalogue(DESCRIPTORS).services_by_package
    owners = {s.proto_package: s for s in SERVICES}
    assert {owners[p].cluster for p in packages} <= set(found)
    for name, cluster in found.items():
        if name == "jwks":
            continue
        options = cluster["typed_extension_protocol_options"][
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        assert "http2_protocol_options" in options["explicit_http_config"]
    assert endpoint(found["tenants"]) == {"address": "127.0.0.1", "port_value": 28152}
    assert endpoint(found["rls"]) == {"address": "127.0.0.1", "port_value": 28152}
    assert endpoint(found["jwks"]) == {"address": "127.0.0.1", "port_value": 28080}


@needs_descriptors
def test_filter_order_and_listener(settings: StackSettings) -> None:
    config = edge.config(settings)
    manager = hcm(config)
    names = [f["name"].removeprefix("envoy.filters.http.") for f in manager["http_filters"]]
    assert names == ["header_mutation", "jwt_authn", "local_ratelimit", "ratelimit",
                     "grpc_json_transcoder", "router"]
    assert manager["codec_type"] == "AUTO"
    assert manager["generate_request_id"] and manager["always_set_request_id_in_response"]
    assert manager["use_remote_address"] is True
    assert manager["server_header_transformation"] == "PASS_THROUGH"  # no `server: envoy`
    assert http_filter(config, "router")["suppress_envoy_headers"] is True
    [log] = manager["access_log"]
    assert log["name"] == "envoy.access_loggers.stdout"
    assert {"request_id", "method", "path", "status", "grpc_status", "duration_ms",
            "cluster", "tenant"} <= log["typed_config"]["log_format"]["json_format"].keys()
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"] == {"address": "127.0.0.1",
                                                     "port_value": 28080}
    assert "transport_socket" not in listener["filter_chains"][0]  # plain HTTP by default
    assert config["admin"]["address"]["socket_address"]["port_value"] == 29901


@needs_descriptors
def test_identity_headers_stripped_and_security_headers_added(settings: StackSettings) -> None:
    mutations = http_filter(edge.config(settings), "header_mutation")["mutations"]
    assert {m["remove"] for m in mutations["request_mutations"]} == {
        "x-tenant-id", "x-user-id", "x-user-role", "x-jwt-payload"}
    added = {m["append"]["header"]["key"]: m["append"]["header"]["value"]
             for m in mutations["response_mutations"] if "append" in m}
    assert added == {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                     "referrer-policy": "no-referrer", "cache-control": "no-store"}


@needs_descriptors
def test_jwt_provider_closes_envoys_permissive_defaults(settings: StackSettings) -> None:
    """envoy.md: without these, tokens without exp, from ?access_token= and for any audience
    would pass."""
    custom = load_settings(StackSettings, jwt_issuer="https://id.example", jwt_audience="api-x")
    [(name, provider)] = http_filter(edge.config(custom), "jwt_authn")["providers"].items()
    assert name == "tucano"
    assert provider["issuer"] == "https://id.example"
    assert provider["audiences"] == ["api-x"]
    assert provider["from_headers"] == [{"name": "authorization", "value_prefix": "Bearer "}]
    assert "from_params" not in provider and "from_cookies" not in provider
    assert provider["require_expiration"] is True
    assert provider["max_lifetime"] == "3600s"
    assert provider["forward"] is True
    assert {c["header_name"]: c["claim_name"] for c in provider["claim_to_headers"]} == {
        "x-tenant-id": "tid", "x-user-id": "sub", "x-user-role": "role"}
    remote = provider["remote_jwks"]
    assert remote["http_uri"]["uri"] == "http://127.0.0.1:8080/.well-known/jwks.json"
    assert remote["http_uri"]["cluster"] == "jwks"
    assert remote["cache_duration"] == "30s"
    assert "async_fetch" in remote


@needs_descriptors
def test_rate_limit_filters_fail_open_with_a_local_backstop(settings: StackSettings) -> None:
    """reliability.md D4: the RLS down or slow -> requests pass (failure_mode_deny false);
    the local per-tenant buckets still cap a runaway tenant."""
    config = edge.config(settings)
    rls = http_filter(config, "envoy.filters.http.ratelimit")
    assert rls["failure_mode_deny"] is False
    assert rls["domain"] == "tucano"
    assert rls["timeout"] == "0.1s"
    assert rls["rate_limited_as_resource_exhausted"] is True
    assert rls["enable_x_ratelimit_headers"] == "DRAFT_VERSION_03"
    assert rls["rate_limit_service"] == {"transport_api_version": "V3", "grpc_service": {
        "envoy_grpc": {"cluster_name": "rls"}}}
    local = http_filter(config, "local_ratelimit")
    for key in ("filter_enabled", "filter_enforced"):
        assert local[key]["default_value"] == {"numerator": 100, "denominator": "HUNDRED"}
    assert local["rate_limited_as_resource_exhausted"] is True
    assert local["descriptors"] == [{"entries": [{"key": "tenant"}], "token_bucket": {
        "max_tokens": 500, "tokens_per_fill": 500, "fill_interval": "1s"}}]
    assert local["max_dynamic_descriptors"] > 0
    assert {h["header"]["key"] for h in local["response_headers_to_add"]} >= {
        "retry-after", "x-ratelimit-limit"}


@needs_descriptors
def test_every_local_error_maps_to_a_google_rpc_status_body(settings: StackSettings) -> None:
    mappers = hcm(edge.config(settings))["local_reply_config"]["mappers"]
    bodies = {}
    rest_mappers = [m for m in mappers if "body_format_override" in m]
    # native gRPC callers get only the rewritten status (403 -> 401), after every REST mapper
    assert mappers[len(rest_mappers):] == [{"filter": edge._status_filter("EQ", 403),
                                            "status_code": 401}]
    for mapper in rest_mappers:
        status_filter, rest_only = mapper["filter"]["and_filter"]["filters"]
        assert rest_only == edge.REST_REQUEST
        comparison = status_filter["status_code_filter"]["comparison"]
        body = mapper["body_format_override"]
        assert body["content_type"] == "application/json"
        assert set(body["json_format"]) == {"code", "message", "details"}
        [info] = body["json_format"]["details"]
        assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
        assert info["domain"] == "edge.tucano"
        bodies[(comparison["op"], comparison["value"]["default_value"])] = (
            body["json_format"]["code"], info["reason"])
    assert bodies[("EQ", 401)] == (16, "UNAUTHENTICATED")
    assert bodies[("EQ", 403)] == (16, "UNAUTHENTICATED")
    assert [m.get("status_code") for m in rest_mappers if m["filter"]["and_filter"]["filters"][
        0]["status_code_filter"]["comparison"]["value"]["default_value"] == 403] == [401]
    assert bodies[("EQ", 404)] == (5, "NOT_FOUND")
    assert bodies[("EQ", 400)] == (3, "INVALID_ARGUMENT")
    assert bodies[("EQ", 413)][0] == 8
    assert bodies[("EQ", 429)] == (8, "RATE_LIMITED")
    assert bodies[("EQ", 503)] == (14, "UNAVAILABLE")
    assert bodies[("EQ", 504)][0] == 4
    assert bodies[("GE", 400)] == (2, "UNKNOWN")
    assert list(bodies)[-1] == ("GE", 400)  # first match wins: the catch-all goes last


# ---------------------------------------------------------------------------- TLS and CORS
def _cert_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not checked when rendering\n")
    key.write_text("not checked when rendering\n")
    return cert, key


@needs_descriptors
def test_tls_serves_https_with_alpn_and_hsts(tmp_path: Path) -> None:
    cert, key = _cert_files(tmp_path)
    settings = load_settings(StackSettings, edge_tls_cert=str(cert), edge_tls_key=str(key))
    config = edge.config(settings)
    socket_ = config["static_resources"]["listeners"][0]["filter_chains"][0][
        "transport_socket"]["typed_config"]
    tls = socket_["common_tls_context"]
    assert tls["alpn_protocols"] == ["h2", "http/1.1"]
    assert tls["tls_params"]["tls_minimum_protocol_version"] == "TLSv1_2"
    assert tls["tls_certificates"][0]["certificate_chain"]["filename"] == str(cert.resolve())
    mutations = http_filter(config, "header_mutation")["mutations"]["response_mutations"]
    assert any(m.get("append", {}).get("header", {}).get("key") == "strict-transport-security"
               for m in mutations)
    assert settings.edge_url.startswith("https://")
    jwks = http_filter(config, "jwt_authn")["providers"]["tucano"]["remote_jwks"]
    assert jwks["http_uri"]["uri"].startswith("https://127.0.0.1:")
    assert "transport_socket" in clusters(config)["jwks"]


def test_tls_needs_both_files(tmp_path: Path) -> None:
    cert, _ = _cert_files(tmp_path)
    with pytest.raises(ConfigError, match="TUCANO_EDGE_TLS_CERT and TUCANO_EDGE_TLS_KEY"):
        load_settings(StackSettings, edge_tls_cert=str(cert))
    with pytest.raises(ConfigError, match=r"TUCANO_EDGE_TLS_KEY: .*not a readable file"):
        load_settings(StackSettings, edge_tls_cert=str(cert),
                      edge_tls_key=str(tmp_path / "missing.pem"))


@needs_descriptors
def test_cors_only_for_configured_origins_and_before_jwt() -> None:
    plain = edge.config(load_settings(StackSettings))
    assert not any(f["name"].endswith(".cors") for f in hcm(plain)["http_filters"])
    settings = load_settings(StackSettings,
                             edge_cors_origins="https://app.example.com, http://localhost:5173")
    config = edge.config(settings)
    names = [f["name"] for f in hcm(config)["http_filters"]]
    assert names.index("envoy.filters.http.cors") < names.index("envoy.filters.http.jwt_authn")
    host = hcm(config)["route_config"]["virtual_hosts"][0]
    policy = host["typed_per_filter_config"]["envoy.filters.http.cors"]
    assert policy["allow_origin_string_match"] == [{"exact": "https://app.example.com"},
                                                  {"exact": "http://localhost:5173"}]
    assert set(policy["allow_headers"].split(", ")) == {
        "authorization", "content-type", "x-request-id", "idempotency-key"}
    assert {"x-request-id", "retry-after", "x-ratelimit-limit"} <= set(
        policy["expose_headers"].split(", "))
    with pytest.raises(ConfigError, match="TUCANO_EDGE_CORS_ORIGINS"):
        load_settings(StackSettings, edge_cors_origins="https://app.example.com/path")


# ---------------------------------------------------------------------------- templates
@pytest.mark.parametrize(("template", "yes", "no"), [
    ("/v1/plans", ["/v1/plans"], ["/v1/plans/x", "/v1/plansx", "/v1/plan"]),
    ("/v1/contacts/{contact_id}", ["/v1/contacts/c-1"],
     ["/v1/contacts/c-1:optOut", "/v1/contacts/a/b", "/v1/contacts/"]),
    ("/v1/tenants/{tenant_id}:suspend", ["/v1/tenants/t1:suspend"],
     ["/v1/tenants/t1:reactivate", "/v1/tenants/t1"]),
    ("/v1/{name=tenants/*}", ["/v1/tenants/t1"], ["/v1/tenants/t1/x", "/v1/other/t1"]),
    ("/.well-known/jwks.json", ["/.well-known/jwks.json"], ["/.well-known/jwksxjson"]),
])
def test_template_regex(template: str, yes: list[str], no: list[str]) -> None:
    regex = template_regex(template)
    for path in yes:
        assert re.fullmatch(regex, path), (template, path)
    for path in no:
        assert not re.fullmatch(regex, path), (template, path)
    assert re.fullmatch(regex, sample_path(template))


# ---------------------------------------------------------------------------- Envoy accepts it
@needs_descriptors
@pytest.mark.parametrize("variant", ["plain", "tls-cors"])
def test_envoy_accepts_the_rendered_config(variant: str, tmp_path: Path) -> None:
    overrides: dict[str, Any] = {}
    if variant == "tls-cors":
        cert, key = _self_signed(tmp_path)
        overrides = {"edge_tls_cert": str(cert), "edge_tls_key": str(key),
                     "edge_cors_origins": "https://app.example.com"}
    settings = load_settings(StackSettings, **overrides)
    out = edge.write(settings, tmp_path / "envoy.yaml")
    assert yaml.safe_load(out.read_text())["static_resources"]
    result = subprocess.run([str(venv_bin() / "envoy"), "--mode", "validate", "-c", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from tucano_stack.testing import self_signed_certificate  # noqa: PLC0415

    return self_signed_certificate(tmp_path)


def test_a_package_without_an_owning_process_is_a_config_error(
        settings: StackSettings, tmp_path: Path) -> None:
    fds = descriptor_pb2.FileDescriptorSet()
    file = fds.file.add(name="tucano/billing/v1/billing.proto", package="tucano.billing.v1")
    file.service.add(name="BillingService")
    path = tmp_path / "descriptors.binpb"
    path.write_bytes(fds.SerializeToString())
    with pytest.raises(ConfigError, match=r"tucano\.billing\.v1 has no owning process"):
        edge.config(settings, path)


def test_a_descriptor_set_without_tucano_services_is_a_config_error(
        settings: StackSettings, tmp_path: Path) -> None:
    path = tmp_path / "descriptors.binpb"
    path.write_bytes(descriptor_pb2.FileDescriptorSet().SerializeToString())
    with pytest.raises(ConfigError, match="declares no service"):
        edge.config(settings, path)
    with pytest.raises(ConfigError, match="cannot read"):
        edge.config(settings, tmp_path / "missing.binpb")
