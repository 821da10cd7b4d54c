"""The edge's security against the running stack: tokens from auth, checked by Envoy against
auth's JWKS; what is not exposed; security headers and CORS; gRPC health without a token; and
a signing-key rotation (`tucano-auth rotate-keys`) reaching the edge within a bounded wait."""

from __future__ import annotations

import base64
import json
import os
import secrets
import ssl
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_stack.settings import venv_bin
from tucano_stack.testing import extra_edge, self_signed_certificate, wait_until

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), pytest.mark.needs_service("auth")]

PASSWORD = "correct horse battery staple"
CORS_ORIGIN = "https://dashboard.e2e.test"  # tests/e2e/conftest.py
AUTH_TARGET = "127.0.0.1:58151"  # the e2e stack's auth (tests/e2e/conftest.py SERVICE_PORTS)
# auth's signer picks up a new active key within 30 s; Envoy refetches the JWKS every 10 s here
ROTATION_WAIT_S = 120.0
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                    "referrer-policy": "no-referrer"}


def signup(http: httpx.Client) -> dict[str, Any]:
    response = http.post("/v1/auth:signup", json={
        "email": f"edge.{secrets.token_hex(4)}@example.com", "password": PASSWORD,
        "display_name": "Edge", "tenant_name": "Edge Co"})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()["tokens"]
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


def kid(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def status_json(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_tokens_from_auth_pass_the_edge_over_rest_and_grpc(stack: Stack,
                                                           http: httpx.Client) -> None:
    tokens = signup(http)
    me = http.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    status_json(http.get("/v1/me"), 401, 16)
    status_json(http.get("/v1/me", params={"access_token": tokens["access_token"]}), 401, 16)
    with grpc.insecure_channel(stack.edge_target) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        reply = stub.GetMe(auth_pb2.GetMeRequest(), timeout=30, metadata=[
            ("authorization", f"Bearer {tokens['access_token']}")])
        assert reply.user.user_id == me.json()["user"]["user_id"]
        with pytest.raises(grpc.RpcError) as error:
            stub.GetMe(auth_pb2.GetMeRequest(), timeout=30)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_service_only_rpcs_are_not_reachable_through_the_edge(stack: Stack,
                                                              http: httpx.Client) -> None:
    tokens = signup(http)
    for path in ("/tucano.tenants.v1.TenantsService/CreateTenant",
                 "/tucano.auth.v1.AuthService/IssueServiceToken"):
        status_json(http.post(path, json={}), 401, 16)  # like any unknown path
        body = status_json(http.post(path, json={}, headers=bearer(tokens)), 404, 5)
        assert body["details"][0]["reason"] == "NOT_FOUND"
        with grpc.insecure_channel(stack.edge_target) as channel:
            with pytest.raises(grpc.RpcError) as error:
                channel.unary_unary(path)(b"", timeout=30, metadata=[
                    ("authorization", f"Bearer {tokens['access_token']}")])
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpc_health_through_the_edge_needs_no_token(stack: Stack) -> None:
    with grpc.insecure_channel(stack.edge_target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                         timeout=30)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_security_headers_and_cors_on_the_real_stack(http: httpx.Client) -> None:
    tokens = signup(http)
    replies = [http.get("/v1/me", headers={**bearer(tokens), "origin": CORS_ORIGIN}),
               http.get("/v1/me", headers={"origin": CORS_ORIGIN}),
               http.get("/v1/nothing", headers=bearer(tokens)),
               http.post("/v1/auth:login", json={"email": "nobody@example.com",
                                                 "password": PASSWORD})]
    assert [r.status_code for r in replies] == [200, 401, 404, 401]
    for response in replies:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, response.headers
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers
    assert replies[0].headers["access-control-allow-origin"] == CORS_ORIGIN
    assert replies[1].headers["access-control-allow-origin"] == CORS_ORIGIN
    jwks = http.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"].startswith("public, max-age=")
    preflight = http.options("/v1/contacts", headers={
        "origin": CORS_ORIGIN, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == CORS_ORIGIN


def _auth_env(stack: Stack) -> dict[str, str]:
    """What `tucano-auth rotate-keys` needs to work on the stack's database and keys."""
    admin = os.environ.get("TUCANO_DATABASE_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(admin)
    netloc = f"tucano_auth@{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
    env = dict(os.environ)
    for line in (stack.var_dir / "dev-secrets.env").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            env.setdefault(name.strip(), value.strip())
    env["TUCANO_AUTH_DATABASE_URL"] = urlunsplit(
        (parts.scheme, netloc, f"/{stack.database}", "", ""))
    env["TUCANO_DATABASE_ADMIN_URL"] = admin
    return env


def test_a_rotated_signing_key_passes_the_edge(stack: Stack, http: httpx.Client) -> None:
    """Envoy 1.40 cannot refetch on an unknown kid: a new key reaches it when its JWKS cache
    expires (TUCANO_EDGE_JWKS_CACHE_S, 10 s here, 30 s by default). So auth publishes a
    rotated-in key TUCANO_AUTH_KEY_PUBLISH_LEAD_S (twice the cache here) before signing with it:
    the very first token with the new kid must already pass. Tokens signed by the old key keep
    passing (auth keeps publishing it)."""
    before = signup(http)
    email = http.get("/v1/me", headers=bearer(before)).json()["user"]["email"]
    old_kid = kid(before["access_token"])
    result = subprocess.run([str(venv_bin() / "tucano-auth"), "rotate-keys"],
                            env=_auth_env(stack), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rotated = time.monotonic()
    seen: dict[str, float] = {}

    # Tokens straight from auth's gRPC port: polling sign-in through the edge would run into
    # its per-address sign-in limit.
    with grpc.insecure_channel(AUTH_TARGET) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)

        def new_key_passes() -> bool:
            token = stub.Login(auth_pb2.LoginRequest(email=email, password=PASSWORD),
                               timeout=30).tokens.access_token
            if kid(token) == old_kid:
                return False  # auth's signer has not switched yet
            seen.setdefault("signed", time.monotonic() - rotated)
            status = http.get("/v1/me", headers={"authorization": f"Bearer {token}"}).status_code
            assert status == 200, f"the first token with the new key was refused: {status}"
            return True

        assert wait_until(new_key_passes, ROTATION_WAIT_S, interval_s=1.0), seen
    print(f"rotation: new kid signing after {seen['signed']:.1f}s, accepted by the edge after "
          f"{time.monotonic() - rotated:.1f}s")
    assert http.get("/v1/me", headers=bearer(before)).status_code == 200


def test_with_a_certificate_the_edge_serves_https_in_front_of_the_real_services(
        stack: Stack, tmp_path: Path) -> None:
    """A second edge, rendered like the stack's but with TUCANO_EDGE_TLS_CERT/KEY, in front of
    the same running services: REST over HTTPS (with HSTS), native gRPC over TLS."""
    from tests.e2e.conftest import SERVICE_PORTS  # noqa: PLC0415 (conftest is pytest's)

    cert, key = self_signed_certificate(tmp_path)
    with extra_edge(tmp_path, SERVICE_PORTS, edge_tls_cert=str(cert),
                    edge_tls_key=str(key)) as (settings, _):
        assert settings.edge_url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=settings.edge_url, verify=trusted, timeout=30) as client:
            tokens = signup(client)
            me = client.get("/v1/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
            assert me.status_code == 200, me.text
            assert me.headers["strict-transport-security"].startswith("max-age=")
            assert me.headers["cache-control"] == "no-store"
            assert client.get("/v1/me").status_code == 401
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on a TLS listener
            httpx.get(settings.edge_url.replace("https://", "http://") + "/v1/plans", timeout=10)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"localhost:{settings.edge_port}", credentials) as channel:
            reply = auth_pb2_grpc.AuthServiceStub(channel).GetMe(
                auth_pb2.GetMeRequest(), timeout=30,
                metadata=[("authorization", f"Bearer {tokens['access_token']}")])
        assert reply.current_tenant_id == tokens["tenant_id"]
