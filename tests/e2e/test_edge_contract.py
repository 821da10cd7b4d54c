"""The edge's contract, checked against a fake gRPC service that records what reaches it.

Envoy runs with the config `tucano-stack render-edge` produces (real descriptor set, real access
policies), with every cluster (the JWKS's and the RLS's too) pointed at an in-test gRPC server
and messaging at a closed port. Tokens are signed by a key the fake serves as auth's JWKS.
No database, broker or real service is involved, so this runs whatever state the services are in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from tucano.tenants.v1 import tenants_pb2
from tucano_stack.edge import IDENTITY_HEADERS
from tucano_stack.services import BY_PACKAGE
from tucano_stack.testing import FakeBackend, FakeEdge, fake_edge

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROUTE_TIMEOUT_S = 2.0  # tenants' route timeout here, to see a 504 quickly
LIST_PLANS = "/tucano.tenants.v1.TenantsService/ListPlans"


def big_plans(request: bytes, context: grpc.ServicerContext) -> bytes:
    metadata = dict(context.invocation_metadata())
    name = "a" * int(metadata.get("x-test-plan-name-bytes", "0"))
    return bytes(tenants_pb2.ListPlansResponse(
        plans=[tenants_pb2.Plan(id="big", display_name=name)]).SerializeToString())


def contact_not_found(request: bytes, context: grpc.ServicerContext) -> bytes:
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason="CONTACT_NOT_FOUND",
                                            domain="campaigns.tucano"))
    context.abort_with_status(rpc_status.to_status(status_pb2.Status(
        code=code_pb2.NOT_FOUND, message="contact c-1 not found", details=[detail])))
    raise AssertionError("abort_with_status returns only by raising")


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeEdge]:
    backend = FakeBackend(handlers={
        LIST_PLANS: big_plans,
        "/tucano.campaigns.v1.ContactsService/GetContact": contact_not_found,
    }).start()
    tenants = BY_PACKAGE["tucano.tenants.v1"]
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(BY_PACKAGE, tenants.proto_package,
                          replace(tenants, route_timeout_s=ROUTE_TIMEOUT_S))
            with fake_edge(tmp_path_factory.mktemp("edge"), backend,
                           closed=("messaging",)) as running:
                yield running
    finally:
        backend.stop()


@pytest.fixture
def http(edge: FakeEdge) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        yield client


@pytest.fixture
def token(edge: FakeEdge) -> dict[str, str]:
    return edge.backend.keys[0].bearer("t-contract")


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


def test_rest_identity_headers_never_reach_the_service(edge: FakeEdge,
                                                       http: httpx.Client) -> None:
    response = http.get("/v1/plans", headers={**SPOOFED, "x-custom": "kept"})
    assert response.status_code == 200, response.text
    seen = edge.backend.last(LIST_PLANS).metadata
    assert not set(IDENTITY_HEADERS) & seen.keys(), seen
    assert seen.get("x-custom") == "kept"  # other headers do reach it, as metadata
    assert seen.get("x-request-id") == response.headers["x-request-id"]


def test_identity_headers_come_from_the_verified_token_only(
        edge: FakeEdge, http: httpx.Client, token: dict[str, str]) -> None:
    response = http.get("/v1/contacts", headers={**SPOOFED, **token,
                                                 "x_tenant_id": "underscored"})
    assert response.status_code == 200, response.text
    seen = edge.backend.last("/tucano.campaigns.v1.ContactsService/ListContacts").metadata
    assert seen["x-tenant-id"] == "t-contract"
    assert seen["x-user-id"] == "u-t-contract"
    assert seen["x-user-role"] == "owner"
    assert "x-jwt-payload" not in seen and "x_tenant_id" not in seen
    assert seen["authorization"] == token["authorization"]  # the service verifies it again


def test_grpc_identity_metadata_never_reaches_the_service(edge: FakeEdge) -> None:
    with grpc.insecure_channel(edge.target) as channel:
        call = channel.unary_unary(LIST_PLANS)
        call(b"", metadata=[*SPOOFED.items(), ("x-custom", "kept")], timeout=30)
    seen = edge.backend.last(LIST_PLANS).metadata
    assert not set(IDENTITY_HEADERS) & seen.keys(), seen
    assert seen.get("x-custom") == "kept"


def test_service_errors_reach_rest_clients_as_sent(http: httpx.Client,
                                                   token: dict[str, str]) -> None:
    body = status_json(http.get("/v1/contacts/c-1", headers=token), 404, code_pb2.NOT_FOUND)
    assert body["message"] == "contact c-1 not found"
    [detail] = body["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert detail["reason"] == "CONTACT_NOT_FOUND"


def test_malformed_json_is_400_status_json(http: httpx.Client, token: dict[str, str]) -> None:
    response = http.post("/v1/contacts", content=b'{"contact": {"phone_number": }}',
                         headers={"content-type": "application/json", **token})
    status_json(response, 400, code_pb2.INVALID_ARGUMENT)


def test_unknown_path_is_401_without_a_token_and_404_with_one(
        http: httpx.Client, token: dict[str, str]) -> None:
    status_json(http.post("/v1/nothing-here", json={}), 401, code_pb2.UNAUTHENTICATED)
    body = status_json(http.post("/v1/nothing-here?x=1", json={}, headers=token), 404,
                       code_pb2.NOT_FOUND)
    assert body["message"] == "not found: /v1/nothing-here"
    assert body["details"][0]["reason"] == "NOT_FOUND"


def test_unknown_query_parameters_are_ignored(http: httpx.Client) -> None:
    assert http.get("/v1/plans", params={"utm_source": "x"}).status_code == 200


def test_webhook_sized_bodies_pass_and_larger_are_413(edge: FakeEdge,
                                                       http: httpx.Client) -> None:
    # The transcoder buffers raw (google.api.HttpBody) bodies, up to max_request_body_size;
    # JSON bodies of ordinary messages are converted as a stream and are not limited by it.
    three_mb = json.dumps({"entry": "a" * 3_000_000}).encode()
    response = http.post("/webhooks/whatsapp", content=three_mb,
                         headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    received = edge.backend.last("/tucano.webhooks.v1.WebhooksService/ReceiveWebhook")
    assert len(received.request) > 3_000_000
    nine_mib = json.dumps({"entry": "a" * 9 * 1024 * 1024}).encode()
    response = http.post("/webhooks/whatsapp", content=nine_mib,
                         headers={"content-type": "application/json"})
    status_json(response, 413, code_pb2.RESOURCE_EXHAUSTED)


def test_responses_above_a_mebibyte_are_transcoded(http: httpx.Client) -> None:
    response = http.get("/v1/plans", headers={"x-test-plan-name-bytes": "3000000"})
    assert response.status_code == 200, response.text[:200]
    assert len(response.json()["plans"][0]["display_name"]) == 3_000_000


def test_service_down_is_503_status_json(http: httpx.Client, token: dict[str, str]) -> None:
    body = status_json(http.get("/v1/channels", headers=token), 503, code_pb2.UNAVAILABLE)
    assert "127.0.0.1" not in body["message"]  # no upstream details for the client


def test_route_timeout_is_504_status_json(http: httpx.Client) -> None:
    response = http.get("/v1/plans", headers={"x-test-sleep": str(ROUTE_TIMEOUT_S + 2)})
    status_json(response, 504, code_pb2.DEADLINE_EXCEEDED)


def test_native_grpc_callers_get_grpc_errors_not_json(edge: FakeEdge) -> None:
    token = edge.backend.keys[0].token("t-contract")
    with grpc.insecure_channel(edge.target) as channel:
        down = channel.unary_unary("/tucano.messaging.v1.ChannelsService/ListChannels")
        with pytest.raises(grpc.RpcError) as error:
            down(b"", timeout=30, metadata=[("authorization", f"Bearer {token}")])
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert not (error.value.details() or "").startswith("{")
        unknown = channel.unary_unary("/tucano.nothing.v1.Nothing/Nothing")
        with pytest.raises(grpc.RpcError) as error:
            unknown(b"", timeout=30)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as error:
            unknown(b"", timeout=30, metadata=[("authorization", f"Bearer {token}")])
        assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
