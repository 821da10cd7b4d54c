"""The edge's security contract against a fake backend: JWT checks (reliability.md A1), one
source for what is exposed (A2), rate limiting and its failure mode (D4), CORS, security headers
on every reply, TLS, and JWKS rotation.

Envoy runs the config `tucano-stack` renders (real descriptor set, real access policies); every
cluster, the RLS's and the JWKS's included, points at an in-test gRPC server (FakeBackend), which
answers any RPC with an empty message, serves a test key as auth's JWKS, and plays the RLS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from tucano_stack import edge as edge_config
from tucano_stack.access import Exposure, exposure, grpc_path, load_policies, sample_path
from tucano_stack.descriptors import catalogue
from tucano_stack.settings import repo_root
from tucano_stack.testing import (
    FakeBackend,
    FakeEdge,
    SigningKey,
    fake_edge,
    self_signed_certificate,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ORIGIN = "https://app.example.com"
LIST_CONTACTS = "/tucano.campaigns.v1.ContactsService/ListContacts"
CREATE_CONTACT = "/tucano.campaigns.v1.ContactsService/CreateContact"
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                    "referrer-policy": "no-referrer"}
ROTATION_WAIT_S = 60.0  # the JWKS cache here is 5 s; generous for a busy machine


@pytest.fixture(scope="module")
def backend() -> Iterator[FakeBackend]:
    fake = FakeBackend().start()
    fake.rls.over_limit.add("t-limited")
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def edge(backend: FakeBackend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeEdge]:
    """CORS for ORIGIN; CreateContact made a heavy route, to see its descriptors (the real
    heavy RPCs, ImportContacts and LaunchCampaign, are not written yet)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(edge_config.HEAVY_RPCS, CREATE_CONTACT, "import")
        with fake_edge(tmp_path_factory.mktemp("edge"), backend, closed=("messaging",),
                       edge_cors_origins=ORIGIN) as running:
            yield running


@pytest.fixture
def http(edge: FakeEdge) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        yield client


@pytest.fixture
def key(backend: FakeBackend) -> SigningKey:
    return backend.keys[0]


def status_json(response: httpx.Response, http_status: int, code: int) -> dict[str, Any]:
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo", body
    return body


def assert_hardened(response: httpx.Response, cache: str = "no-store") -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, response.headers)
    assert response.headers.get("cache-control") == cache, response.headers
    assert "server" not in response.headers, response.headers
    assert "x-envoy-upstream-service-time" not in response.headers
    assert "strict-transport-security" not in response.headers  # plain HTTP here
    assert response.headers.get("x-request-id")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


# ---------------------------------------------------------------------------- A1: JWT negatives
def _bad_tokens(key: SigningKey) -> dict[str, tuple[dict[str, str], str, int]]:
    """name -> (headers, extra query, expected status)."""
    now = int(time.time())
    attacker = SigningKey(kid=key.kid)  # another key that claims our key id
    public_pem = key.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": key.kid}, key.claims())
    hs256 = f"{hs_input}.{_b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())}"

    def bearer(token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    signed_header, _, signature = key.token(role="viewer").split(".")
    tampered = f"{signed_header}.{_b64(json.dumps(key.claims(role='owner')).encode())}.{signature}"

    return {
        "alg none": (bearer(unsigned({"alg": "none", "typ": "JWT"}, key.claims()) + "."), "",
                     401),
        "HS256 keyed with the public key": (bearer(hs256), "", 401),
        "wrong audience": (key.bearer(aud="another-api"), "", 401),
        "tampered payload": (bearer(tampered), "", 401),
        "wrong issuer": (key.bearer(iss="https://evil.example"), "", 401),
        "expired": (key.bearer(exp=now - 120, iat=now - 720, nbf=now - 720), "", 401),
        "not yet valid": (key.bearer(nbf=now + 600, exp=now + 900), "", 401),
        "no exp": (key.bearer(exp=None), "", 401),
        "lifetime above an hour": (key.bearer(exp=now + 7200), "", 401),
        "unknown kid": (bearer(SigningKey(kid="nobody").token()), "", 401),
        "our kid, another key": (bearer(attacker.token()), "", 401),
        "jku to the attacker's keys": (bearer(SigningKey().token(headers={
            "jku": "https://evil.example/jwks.json"})), "", 401),
        "in ?access_token=": ({}, f"?access_token={key.token()}", 401),
        "in another header": ({"x-access-token": key.token()}, "", 401),
        "without the Bearer scheme": ({"authorization": key.token()}, "", 401),
        "garbage": (bearer("not.a.jwt"), "", 401),
    }


def test_jwt_negative_suite(backend: FakeBackend, edge: FakeEdge, http: httpx.Client,
                            key: SigningKey) -> None:
    """reliability.md A1 at the edge: none of these reaches the service. (`typ` is not checked
    by Envoy; the services check it, and a `jku` is never followed: Envoy only trusts the
    JWKS it fetches itself.)"""
    assert http.get("/v1/contacts", headers=key.bearer()).status_code == 200  # the control
    before = len(backend.reached(LIST_CONTACTS))
    bad_tokens = _bad_tokens(key)
    for name, (headers, query, expected) in bad_tokens.items():
        response = http.get(f"/v1/contacts{query}", headers=headers)
        body = status_json(response, expected, 16)
        assert body["details"][0]["reason"] == "UNAUTHENTICATED", name
        assert_hardened(response)
    with grpc.insecure_channel(edge.target) as channel:
        for name in ("wrong audience", "tampered payload", "expired"):
            with pytest.raises(grpc.RpcError) as refused:
                channel.unary_unary(LIST_CONTACTS)(b"", timeout=30, metadata=list(
                    bad_tokens[name][0].items()))
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
    assert len(backend.reached(LIST_CONTACTS)) == before


# ---------------------------------------------------------------------------- A2: live coverage
def _rest_calls(path: str) -> list[tuple[str, str]]:
    rules = [r for rules in catalogue(repo_root() / "build" / "descriptors.binpb")
             .http_rules.values() for r in rules if grpc_path(r.rpc) == path]
    return [(r.method, sample_path(r.path)) for r in rules]


def test_every_policy_rpc_through_the_live_edge(backend: FakeBackend, edge: FakeEdge,
                                                http: httpx.Client, key: SigningKey) -> None:
    """Every RPC of every policy, over native gRPC and over each of its REST paths, without
    a token and with one: public ones reach the service either way; tenant and platform
    ones only with a token; service-only and internal ones never (404 with a token, like
    an unknown path)."""
    token = key.token("t-coverage")
    policies = load_policies()
    assert policies
    with grpc.insecure_channel(edge.target) as channel:
        for service, policy in policies.items():
            down = service == "messaging"  # routed there, but nothing listens: 503
            for path, access in policy.items():
                kind = exposure(access)
                call = channel.unary_unary(path)
                for metadata in ([], [("authorization", f"Bearer {token}")]):
                    reached = len(backend.reached(path))
                    try:
                        call(b"", metadata=metadata, timeout=30)
                        code = grpc.StatusCode.OK
                    except grpc.RpcError as exc:
                        code = exc.code()
                    if kind is Exposure.PUBLIC or (kind is Exposure.TOKEN and metadata):
                        assert code == (grpc.StatusCode.UNAVAILABLE if down
                                        else grpc.StatusCode.OK), (path, metadata)
                        assert len(backend.reached(path)) == reached + (not down), path
                        continue
                    expected = (grpc.StatusCode.UNIMPLEMENTED if metadata  # 404
                                else grpc.StatusCode.UNAUTHENTICATED)
                    assert code == expected, (path, kind, bool(metadata))
                    assert len(backend.reached(path)) == reached, path
                for method, rest in _rest_calls(path):
                    bare = http.request(method, rest, json={})
                    authed = http.request(method, rest, json={},
                                          headers={"authorization": f"Bearer {token}"})
                    served = 503 if down else 200
                    if kind is Exposure.PUBLIC:
                        assert bare.status_code == served, (method, rest, bare.text)
                    else:
                        status_json(bare, 401, 16)
                    if kind is Exposure.HIDDEN:
                        status_json(authed, 404, 5)
                    else:
                        assert authed.status_code == served, (method, rest, authed.text)


# ---------------------------------------------------------------------------- rate limits
def test_descriptors_sent_to_the_rls(backend: FakeBackend, edge: FakeEdge,
                                     http: httpx.Client, key: SigningKey) -> None:
    rls = backend.rls
    assert http.get("/v1/contacts", headers=key.bearer("t-desc")).status_code == 200
    assert rls.descriptors_for(lambda d: ("tenant", "t-desc") in d[0]) == [[("tenant", "t-desc")]]
    assert http.post("/v1/contacts", json={}, headers=key.bearer("t-heavy")).status_code == 200
    assert rls.descriptors_for(lambda d: ("tenant", "t-heavy") in d[0]) == [
        [("tenant", "t-heavy")], [("tenant", "t-heavy"), ("route", "import")]]
    with grpc.insecure_channel(edge.target) as channel:
        channel.unary_unary(CREATE_CONTACT)(b"", timeout=30, metadata=[
            ("authorization", f"Bearer {key.token('t-heavy-grpc')}")])
    assert rls.descriptors_for(lambda d: ("tenant", "t-heavy-grpc") in d[0]) == [
        [("tenant", "t-heavy-grpc")], [("tenant", "t-heavy-grpc"), ("route", "import")]]
    assert http.post("/v1/auth:login", json={}).status_code == 200
    assert rls.descriptors_for(lambda d: d[0][0] == ("route", "auth")) == [
        [("route", "auth"), ("remote_address", "127.0.0.1")]]
    with rls.lock:
        count = len(rls.requests)
    for path in ("/v1/plans", "/.well-known/jwks.json"):  # public, not sign-in: no RLS call
        assert http.get(path).status_code == 200
    with rls.lock:
        assert len(rls.requests) == count


def test_over_the_limit_is_429_status_json_with_retry_after(
        backend: FakeBackend, edge: FakeEdge, http: httpx.Client, key: SigningKey) -> None:
    before = len(backend.reached(LIST_CONTACTS))
    response = http.get("/v1/contacts", headers=key.bearer("t-limited"))
    body = status_json(response, 429, 8)
    assert body["details"][0]["reason"] == "RATE_LIMITED"
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-ratelimit-limit"].startswith("10")
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-reset"] == "7"
    assert_hardened(response)
    with grpc.insecure_channel(edge.target) as channel, pytest.raises(grpc.RpcError) as error:
        channel.unary_unary(LIST_CONTACTS)(b"", timeout=30, metadata=[
            ("authorization", f"Bearer {key.token('t-limited')}")])
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("retry-after", "7") in tuple(error.value.trailing_metadata() or ())
    assert len(backend.reached(LIST_CONTACTS)) == before


def test_rls_down_fails_open(backend: FakeBackend, key: SigningKey, tmp_path: Path) -> None:
    """reliability.md D4, failure_mode_deny false: with the RLS unreachable, requests pass."""
    with fake_edge(tmp_path, backend, closed=("tenants",)) as running:
        response = httpx.get(f"{running.url}/v1/contacts", headers=key.bearer("t-limited"),
                             timeout=30)
        assert response.status_code == 200, response.text
        assert running.envoy.stat("cluster.campaigns.ratelimit.failure_mode_allowed") >= 1


def test_local_backstop_limits_a_tenant_when_the_rls_does_not(
        backend: FakeBackend, key: SigningKey, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:  # 2 requests per tenant per hour, to see it
        patch.setattr(edge_config, "LOCAL_TENANT_TOKENS", 2)
        patch.setattr(edge_config, "LOCAL_FILL_INTERVAL_S", 3600.0)
        with fake_edge(tmp_path, backend, closed=("tenants",)) as running:
            with httpx.Client(base_url=running.url, timeout=30) as client:
                statuses = [client.get("/v1/contacts", headers=key.bearer("t-runaway"))
                            for _ in range(3)]
                assert [r.status_code for r in statuses] == [200, 200, 429]
                body = status_json(statuses[-1], 429, 8)
                assert body["details"][0]["reason"] == "RATE_LIMITED"
                assert statuses[-1].headers["retry-after"] == "3600"
                assert statuses[-1].headers["x-ratelimit-limit"] == "2"
                assert_hardened(statuses[-1])
                other = client.get("/v1/contacts", headers=key.bearer("t-calm"))
                assert other.status_code == 200  # one bucket per tenant
                assert "x-ratelimit-limit" not in other.headers  # only on its refusals
            with grpc.insecure_channel(running.target) as channel, \
                    pytest.raises(grpc.RpcError) as error:
                channel.unary_unary(LIST_CONTACTS)(b"", timeout=30, metadata=[
                    ("authorization", f"Bearer {key.token('t-runaway')}")])
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


# ---------------------------------------------------------------------------- headers, CORS
def test_security_headers_on_every_reply(http: httpx.Client, key: SigningKey) -> None:
    replies = {
        200: http.get("/v1/plans"),
        400: http.post("/v1/contacts", content=b"{", headers={
            "content-type": "application/json", **key.bearer()}),
        401: http.get("/v1/contacts"),
        404: http.get("/v1/nothing", headers=key.bearer()),
        429: http.get("/v1/contacts", headers=key.bearer("t-limited")),
        503: http.get("/v1/channels", headers=key.bearer()),  # messaging is down here
    }
    for status, response in replies.items():
        assert response.status_code == status, (status, response.text)
        assert_hardened(response)
        if status >= 400:
            status_json(response, status, response.json()["code"])
    jwks = http.get("/.well-known/jwks.json")
    assert_hardened(jwks, cache="public, max-age=30")
    assert jwks.json()["keys"][0]["kid"] == key.kid


def test_cors_for_the_configured_origin(http: httpx.Client, key: SigningKey) -> None:
    preflight = http.options("/v1/contacts", headers={
        "origin": ORIGIN, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, idempotency-key"})
    assert preflight.status_code == 200, preflight.text  # answered before jwt_authn
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"]
    assert "POST" in preflight.headers["access-control-allow-methods"]
    for response in (http.get("/v1/contacts", headers={"origin": ORIGIN, **key.bearer()}),
                     http.get("/v1/contacts", headers={"origin": ORIGIN})):  # its 401 too
        assert response.headers["access-control-allow-origin"] == ORIGIN
        exposed = response.headers["access-control-expose-headers"]
        assert {"x-request-id", "retry-after", "x-ratelimit-limit"} <= set(exposed.split(", "))
    other = http.options("/v1/contacts", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in other.headers
    assert other.status_code == 401


# ---------------------------------------------------------------------------- TLS
def test_tls_serves_https_and_native_grpc(backend: FakeBackend, key: SigningKey,
                                          tmp_path: Path) -> None:
    cert, private = self_signed_certificate(tmp_path)
    with fake_edge(tmp_path, backend, edge_tls_cert=str(cert), edge_tls_key=str(private)
                   ) as running:
        assert running.url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=running.url, verify=trusted, timeout=30) as client:
            plans = client.get("/v1/plans")
            assert plans.status_code == 200, plans.text
            assert plans.headers["strict-transport-security"].startswith("max-age=")
            # the JWKS came to Envoy over TLS too (from its own listener)
            assert client.get("/v1/contacts", headers=key.bearer()).status_code == 200
            missing = client.get("/v1/contacts")
            status_json(missing, 401, 16)
            assert missing.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.HTTPError):
            httpx.get(running.url.replace("https://", "http://") + "/v1/plans", timeout=10)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        port = running.target.rsplit(":", 1)[1]
        with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
            channel.unary_unary("/tucano.tenants.v1.TenantsService/ListPlans")(b"", timeout=30)
            channel.unary_unary(LIST_CONTACTS)(b"", timeout=30, metadata=[
                ("authorization", f"Bearer {key.token()}")])


# ---------------------------------------------------------------------------- JWKS rotation
def test_a_rotated_key_is_accepted_within_the_jwks_cache_window(
        backend: FakeBackend, key: SigningKey, tmp_path: Path) -> None:
    """Envoy 1.40 cannot refetch the JWKS on an unknown kid: a key published after its last
    fetch is accepted once the cache (TUCANO_EDGE_JWKS_CACHE_S) expires."""
    with fake_edge(tmp_path, backend, edge_jwks_cache_s=5) as running:
        rotated = SigningKey()
        backend.keys.insert(0, rotated)
        try:
            started = time.monotonic()
            url = f"{running.url}/v1/contacts"

            def accepted() -> bool:
                return httpx.get(url, headers=rotated.bearer(), timeout=30).status_code == 200

            assert wait_until(accepted, ROTATION_WAIT_S, interval_s=0.5)
            print(f"rotated key accepted after {time.monotonic() - started:.1f}s")
            assert httpx.get(url, headers=key.bearer(), timeout=30).status_code == 200
        finally:
            backend.keys.remove(rotated)
