"""The rendered Envoy config: built from the descriptor set, and accepted by Envoy itself."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import descriptor_pb2
from tucano_kit.settings import ConfigError, load_settings
from tucano_stack import edge
from tucano_stack.descriptors import catalogue
from tucano_stack.services import SERVICES
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


@pytest.fixture
def settings() -> StackSettings:
    return load_settings(StackSettings, edge_port=28080, edge_admin_port=29901,
                         tenants_grpc_port=28152)


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
def test_routes_by_package_to_http2_clusters_on_the_configured_ports(
        settings: StackSettings) -> None:
    config = edge.config(settings)
    packages = catalogue(DESCRIPTORS).services_by_package
    routes = hcm(config)["route_config"]["virtual_hosts"][0]["routes"]
    by_prefix = {r["match"]["prefix"]: r["route"] for r in routes}
    owners = {s.proto_package: s for s in SERVICES}
    assert set(by_prefix) == {f"/{p}." for p in packages}
    for package in packages:
        route = by_prefix[f"/{package}."]
        assert route["cluster"] == owners[package].cluster
        assert route["timeout"].endswith("s")
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    assert set(clusters) == {owners[p].cluster for p in packages}
    for cluster in clusters.values():
        options = cluster["typed_extension_protocol_options"][
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        assert "http2_protocol_options" in options["explicit_http_config"]
    address = clusters["tenants"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0][
        "endpoint"]["address"]["socket_address"]
    assert address == {"address": "127.0.0.1", "port_value": 28152}


@needs_descriptors
def test_listener_filters_and_edge_behaviour(settings: StackSettings) -> None:
    config = edge.config(settings)
    manager = hcm(config)
    names = [f["name"] for f in manager["http_filters"]]
    assert names == ["envoy.filters.http.header_mutation",
                     "envoy.filters.http.grpc_json_transcoder", "envoy.filters.http.router"]
    removed = {m["remove"] for m in
               http_filter(config, "header_mutation")["mutations"]["request_mutations"]}
    assert removed == {"x-tenant-id", "x-user-id", "x-user-role", "x-jwt-payload"}
    assert manager["codec_type"] == "AUTO"
    assert manager["generate_request_id"] and manager["always_set_request_id_in_response"]
    assert manager["use_remote_address"] is True
    [log] = manager["access_log"]
    assert log["name"] == "envoy.access_loggers.stdout"
    assert {"request_id", "method", "path", "status", "grpc_status", "duration_ms",
            "cluster"} <= log["typed_config"]["log_format"]["json_format"].keys()
    listener = config["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert listener == {"address": "127.0.0.1", "port_value": 28080}
    assert config["admin"]["address"]["socket_address"]["port_value"] == 29901


@needs_descriptors
def test_every_local_error_maps_to_a_google_rpc_status_body(settings: StackSettings) -> None:
    mappers = hcm(edge.config(settings))["local_reply_config"]["mappers"]
    bodies = {}
    for mapper in mappers:
        status_filter, rest_only = mapper["filter"]["and_filter"]["filters"]
        assert rest_only == edge.REST_REQUEST
        comparison = status_filter["status_code_filter"]["comparison"]
        body = mapper["body_format_override"]
        assert body["content_type"] == "application/json"
        assert set(body["json_format"]) == {"code", "message", "details"}
        bodies[(comparison["op"], comparison["value"]["default_value"])] = (
            body["json_format"]["code"])
    assert bodies[("EQ", 404)] == 5
    assert bodies[("EQ", 400)] == 3
    assert bodies[("EQ", 413)] == 8
    assert bodies[("EQ", 503)] == 14
    assert bodies[("EQ", 504)] == 4
    assert bodies[("GE", 400)] == 2  # anything else: UNKNOWN
    assert list(bodies)[-1] == ("GE", 400)  # first match wins: the catch-all goes last


@needs_descriptors
def test_envoy_accepts_the_rendered_config(settings: StackSettings, tmp_path: Path) -> None:
    out = edge.write(settings, tmp_path / "envoy.yaml")
    assert yaml.safe_load(out.read_text())["static_resources"]
    result = subprocess.run([str(venv_bin() / "envoy"), "--mode", "validate", "-c", str(out)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


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
