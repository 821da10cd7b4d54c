"""The edge's contract, checked against a fake gRPC service that records what reaches it.

Envoy runs with the config `tucano-stack render-edge` produces (real descriptor set), with the
tenants, campaigns and webhooks-gateway clusters pointed at an in-test gRPC server and messaging
at a closed port.
No database, broker or real service is involved, so this runs whatever state the services are in.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from tucano.tenants.v1 import tenants_pb2
from tucano_kit.settings import load_settings
from tucano_stack import edge
from tucano_stack.edge import IDENTITY_HEADERS
from tucano_stack.services import BY_PACKAGE
from tucano_stack.settings import StackSettings, venv_bin

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROUTE_TIMEOUT_S = 2.0  # tenants' route timeout here, to see a 504 quickly
START_TIMEOUT_S = 60.0
MAX_MESSAGE = 16 * 1024 * 1024


@dataclass
class Call:
    method: str
    metadata: dict[str, str]
    size: int


@dataclass
class FakeService:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last(self, method: str) -> Call:
        with self.lock:
            found = [c for c in self.calls if c.method == method]
        assert found, f"{method} never reached the service"
        return found[-1]

    def record(self, method: str) -> grpc.RpcMethodHandler:
        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            metadata = {str(k): str(v) for k, v in context.invocation_metadata()}
            with self.lock:
                self.calls.append(Call(method, metadata, len(request)))
            if "x-test-sleep" in metadata:
                time.sleep(float(metadata["x-test-sleep"]))
            if "x-test-plan-name-bytes" in metadata:  # a large ListPlansResponse
                name = "a" * int(metadata["x-test-plan-name-bytes"])
                return bytes(tenants_pb2.ListPlansResponse(
                    plans=[tenants_pb2.Plan(id="big", display_name=name)]).SerializeToString())
            return b""  # an empty message of any type

        return grpc.unary_unary_rpc_method_handler(handler)

    def not_found(self) -> grpc.RpcMethodHandler:
        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            info = error_details_pb2.ErrorInfo(reason="CONTACT_NOT_FOUND",
                                               domain="campaigns.tucano")
            detail = any_pb2.Any()
            detail.Pack(info)
            context.abort_with_status(rpc_status.to_status(status_pb2.Status(
                code=code_pb2.NOT_FOUND, message="contact c-1 not found", details=[detail])))
            raise AssertionError("abort_with_status returns only by raising")

        return grpc.unary_unary_rpc_method_handler(handler)


@dataclass
class Edge:
    url: str
    target: str
    service: FakeService
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_live(admin: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"envoy exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{admin}/ready", timeout=2).text.strip() == "LIVE":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"envoy not LIVE within {START_TIMEOUT_S:g}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def fake_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    service = FakeService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers([
        grpc.method_handlers_generic_handler("tucano.tenants.v1.TenantsService", {
            "ListPlans": service.record("ListPlans")}),
        grpc.method_handlers_generic_handler("tucano.campaigns.v1.ContactsService", {
            "CreateContact": service.record("CreateContact"),
            "GetContact": service.not_found()}),
        grpc.method_handlers_generic_handler("tucano.webhooks.v1.WebhooksService", {
            "ReceiveWebhook": service.record("ReceiveWebhook")}),
    ])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    edge_port, admin_port = _free_port(), _free_port()
    settings = load_settings(
        StackSettings, grpc_host="127.0.0.1", tenants_grpc_port=port, campaigns_grpc_port=port,
        webhooks_gateway_grpc_port=port, messaging_grpc_port=_free_port(),
        edge_host="127.0.0.1", edge_port=edge_port,
        edge_admin_host="127.0.0.1", edge_admin_port=admin_port)
    tenants = BY_PACKAGE["tucano.tenants.v1"]
    folder = tmp_path_factory.mktemp("edge")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(BY_PACKAGE, tenants.proto_package,
                      replace(tenants, route_timeout_s=ROUTE_TIMEOUT_S))
        config = edge.write(settings, folder / "envoy.yaml")
    log = folder / "envoy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv_bin() / "envoy"), "-c", str(config), "--log-level", "warn",
             "--disable-hot-restart", "--file-flush-interval-msec", "100"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_live(f"http://127.0.0.1:{admin_port}", proc, log)
        yield Edge(url=f"http://127.0.0.1:{edge_port}", target=f"127.0.0.1:{edge_port}",
                   service=service, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.stop(grace=None)


@pytest.fixture
def http(fake_edge: Edge) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_edge.url, timeout=30) as client:
        yield client


def status_json(response: httpx.Response, http_status: int, code: int) -> dict[str, Any]:
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.headers.get("x-request-id")
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert isinstance(body.get("details", []), list)
    return dict(body)


SPOOFED = {name: "spoofed" for name in IDENTITY_HEADERS}


def test_rest_identity_headers_never_reach_the_service(fake_edge: Edge,
                                                       http: httpx.Client) -> None:
    response = http.get("/v1/plans", headers={**SPOOFED, "x-custom": "kept"})
    assert response.status_code == 200, response.text
    seen = fake_edge.service.last("ListPlans").metadata
    assert not set(IDENTITY_HEADERS) & seen.keys(), seen
    assert seen.get("x-custom") == "kept"  # other headers do reach it, as metadata
    assert seen.get("x-request-id") == response.headers["x-request-id"]


def test_grpc_identity_metadata_never_reaches_the_service(fake_edge: Edge) -> None:
    with grpc.insecure_channel(fake_edge.target) as channel:
        call = channel.unary_unary("/tucano.tenants.v1.TenantsService/ListPlans")
        call(b"", metadata=[*SPOOFED.items(), ("x-custom", "kept")], timeout=30)
    seen = fake_edge.service.last("ListPlans").metadata
    assert not set(IDENTITY_HEADERS) & seen.keys(), seen
    assert seen.get("x-custom") == "kept"


def test_service_errors_reach_rest_clients_as_sent(http: httpx.Client) -> None:
    body = status_json(http.get("/v1/contacts/c-1"), 404, code_pb2.NOT_FOUND)
    assert body["message"] == "contact c-1 not found"
    [detail] = body["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert detail["reason"] == "CONTACT_NOT_FOUND"


def test_malformed_json_is_400_status_json(http: httpx.Client) -> None:
    response = http.post("/v1/contacts", content=b'{"contact": {"phone_number": }}',
                         headers={"content-type": "application/json"})
    status_json(response, 400, code_pb2.INVALID_ARGUMENT)


def test_unknown_path_is_404_status_json(http: httpx.Client) -> None:
    status_json(http.post("/v1/nothing-here", json={}), 404, code_pb2.NOT_FOUND)


def test_unknown_query_parameters_are_ignored(http: httpx.Client) -> None:
    assert http.get("/v1/plans", params={"utm_source": "x"}).status_code == 200


def test_webhook_sized_bodies_pass_and_larger_are_413(fake_edge: Edge,
                                                       http: httpx.Client) -> None:
    # The transcoder buffers raw (google.api.HttpBody) bodies, up to max_request_body_size;
    # JSON bodies of ordinary messages are converted as a stream and are not limited by it.
    three_mb = json.dumps({"entry": "a" * 3_000_000}).encode()
    response = http.post("/webhooks/whatsapp", content=three_mb,
                         headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert fake_edge.service.last("ReceiveWebhook").size > 3_000_000
    nine_mib = json.dumps({"entry": "a" * 9 * 1024 * 1024}).encode()
    response = http.post("/webhooks/whatsapp", content=nine_mib,
                         headers={"content-type": "application/json"})
    status_json(response, 413, code_pb2.RESOURCE_EXHAUSTED)


def test_responses_above_a_mebibyte_are_transcoded(http: httpx.Client) -> None:
    response = http.get("/v1/plans", headers={"x-test-plan-name-bytes": "3000000"})
    assert response.status_code == 200, response.text[:200]
    assert len(response.json()["plans"][0]["display_name"]) == 3_000_000


def test_service_down_is_503_status_json(http: httpx.Client) -> None:
    status_json(http.get("/v1/channels"), 503, code_pb2.UNAVAILABLE)


def test_route_timeout_is_504_status_json(http: httpx.Client) -> None:
    response = http.get("/v1/plans", headers={"x-test-sleep": str(ROUTE_TIMEOUT_S + 2)})
    status_json(response, 504, code_pb2.DEADLINE_EXCEEDED)


def test_native_grpc_callers_get_grpc_errors_not_json(fake_edge: Edge) -> None:
    with grpc.insecure_channel(fake_edge.target) as channel:
        down = channel.unary_unary("/tucano.messaging.v1.ChannelsService/ListChannels")
        with pytest.raises(grpc.RpcError) as error:
            down(b"", timeout=30)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert not (error.value.details() or "").startswith("{")
        unknown = channel.unary_unary("/tucano.nothing.v1.Nothing/Nothing")
        with pytest.raises(grpc.RpcError) as error:
            unknown(b"", timeout=30)
        assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
