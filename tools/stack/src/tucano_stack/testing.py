"""Test doubles for checking the rendered edge against a real Envoy: a signing key with its JWKS
and tokens, a fake gRPC backend that answers any RPC (and records what reached it), a fake
rate-limit service, and a supervised Envoy. Used by tests/e2e/test_edge_*.py; nothing here
runs in the stack itself.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tucano.auth.v1 import auth_pb2
from tucano.vendor import envoy_rls_pb2
from tucano_kit.settings import load_settings

from tucano_stack import edge
from tucano_stack.ready import JWKS_FETCHED_STAT
from tucano_stack.services import SERVICES
from tucano_stack.settings import StackSettings, venv_bin

RLS_METHOD = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit"
JWKS_METHOD = "/tucano.auth.v1.AuthService/GetJwks"
ENVOY_START_TIMEOUT_S = 60.0
MAX_MESSAGE = 16 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """An ES256 key like auth's, with its JWK and tokens shaped like auth's access tokens."""

    issuer: str = "https://auth.tucano.local"
    audience: str = "tucano-api"
    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x), "y": _b64(numbers.y),
                "kid": self.kid, "use": "sig", "alg": "ES256"}

    def claims(self, tenant: str = "t-1", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": f"u-{tenant}", "tid": tenant,
            "role": "owner", "sid": "s-1", "jti": str(uuid.uuid4()), "iat": now, "nbf": now,
            "exp": now + 600}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}  # None: leave the claim out

    def token(self, tenant: str = "t-1", headers: Mapping[str, Any] | None = None,
              **claims: Any) -> str:
        return jwt.encode(self.claims(tenant, **claims), self.key, algorithm="ES256",
                          headers={"kid": self.kid, "typ": "JWT", **(headers or {})})

    def bearer(self, tenant: str = "t-1", **claims: Any) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(tenant, **claims)}"}


def jwks_response(*keys: SigningKey) -> bytes:
    reply = auth_pb2.GetJwksResponse(keys=[auth_pb2.JsonWebKey(**k.jwk) for k in keys])
    return bytes(reply.SerializeToString())


@dataclass
class Call:
    method: str  # gRPC path
    metadata: dict[str, str]
    request: bytes


@dataclass
class FakeRls:
    """envoy.service.ratelimit.v3.RateLimitService: records every request's descriptors and
    refuses the tenants in `over_limit` (as tenants' RLS does: Retry-After and statuses)."""

    over_limit: set[str] = field(default_factory=set)
    retry_after_s: int = 7
    requests: list[list[list[tuple[str, str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def descriptors_for(self, predicate: Callable[[list[list[tuple[str, str]]]], bool]
                        ) -> list[list[tuple[str, str]]] | None:
        with self.lock:
            return next((d for d in reversed(self.requests) if predicate(d)), None)

    def __call__(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        parsed = envoy_rls_pb2.RateLimitRequest.FromString(request)
        descriptors = [[(e.key, e.value) for e in d.entries] for d in parsed.descriptors]
        with self.lock:
            self.requests.append(descriptors)
        response = envoy_rls_pb2.RateLimitResponse(overall_code=envoy_rls_pb2.RateLimitResponse.OK)
        limited = False
        for descriptor in descriptors:
            over = any(k == "tenant" and v in self.over_limit for k, v in descriptor)
            limited = limited or over
            status = response.statuses.add(
                code=(envoy_rls_pb2.RateLimitResponse.OVER_LIMIT if over
                      else envoy_rls_pb2.RateLimitResponse.OK),
                limit_remaining=0 if over else 9)
            status.current_limit.requests_per_unit = 10
            status.current_limit.unit = envoy_rls_pb2.RateLimitResponse.RateLimit.SECOND
            status.duration_until_reset.FromSeconds(self.retry_after_s)
        if limited:
            response.overall_code = envoy_rls_pb2.RateLimitResponse.OVER_LIMIT
            response.response_headers_to_add.add(key="retry-after",
                                                 value=str(self.retry_after_s))
        return bytes(response.SerializeToString())


Handler = Callable[[bytes, grpc.ServicerContext], bytes]


class _AnyMethod(grpc.GenericRpcHandler):
    def __init__(self, backend: FakeBackend):
        self.backend = backend

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = str(details.method)
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self.backend.handle(method, request, context))


@dataclass
class FakeBackend:
    """A gRPC server answering every unary RPC with an empty message (or what `handlers` say)
    and recording what reached it. It also serves the JWKS of `keys` and the fake RLS."""

    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey()])
    rls: FakeRls = field(default_factory=FakeRls)
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    server: Any = None

    def handle(self, method: str, request: bytes, context: grpc.ServicerContext) -> bytes:
        metadata = {str(k): str(v) for k, v in context.invocation_metadata()}
        if method == RLS_METHOD:
            return self.rls(request, context)
        with self.lock:
            self.calls.append(Call(method, metadata, request))
        if method == JWKS_METHOD:
            return jwks_response(*self.keys)
        if "x-test-sleep" in metadata:
            time.sleep(float(metadata["x-test-sleep"]))
        handler = self.handlers.get(method)
        return handler(request, context) if handler else b""

    def reached(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def last(self, method: str) -> Call:
        found = self.reached(method)
        assert found, f"{method} never reached the service"
        return found[-1]

    def start(self) -> FakeBackend:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.so_reuseport", 0)])
        self.server.add_generic_rpc_handlers([_AnyMethod(self)])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=None)


@dataclass
class RunningEnvoy:
    proc: subprocess.Popen[bytes]
    admin_url: str
    log: Path

    def stat(self, name: str) -> int:
        """A counter or gauge from the admin /stats (0 when Envoy has not created it yet)."""
        text = httpx.get(f"{self.admin_url}/stats", params={"filter": f"^{name}$"},
                         timeout=5).text
        for line in text.splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0


@contextlib.contextmanager
def run_envoy(config: Path, admin_url: str, log: Path) -> Iterator[RunningEnvoy]:
    """Envoy on `config` until the block ends; waits (bounded) until its admin says LIVE."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv_bin() / "envoy"), "-c", str(config), "--log-level", "warn",
             "--disable-hot-restart", "--file-flush-interval-msec", "100"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ENVOY_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"envoy exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{admin_url}/ready", timeout=2).text.strip() == "LIVE":
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"envoy not LIVE within {ENVOY_START_TIMEOUT_S:g}s:\n"
                                   f"{log.read_text()}")
            time.sleep(0.2)
        yield RunningEnvoy(proc, admin_url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class FakeEdge:
    """Envoy with the rendered config, its clusters pointed at a FakeBackend."""

    url: str  # http(s)://127.0.0.1:<port>
    target: str  # 127.0.0.1:<port>, for gRPC channels
    backend: FakeBackend
    envoy: RunningEnvoy
    settings: StackSettings


@contextlib.contextmanager
def extra_edge(folder: Path, service_ports: Mapping[str, int], wait_for_jwks: bool = True,
               **overrides: Any) -> Iterator[tuple[StackSettings, RunningEnvoy]]:
    """Another edge as `tucano-stack up` renders it (real descriptor set and policies), on
    free ports, in front of the services at `service_ports` (service name -> gRPC port on
    127.0.0.1), with settings `overrides` (e.g. TLS). Ready once Envoy has fetched the JWKS
    (unless told not to wait)."""
    ports = {f"{spec.key}_grpc_port": service_ports[spec.name] for spec in SERVICES}
    settings = load_settings(StackSettings, **{
        "grpc_host": "127.0.0.1", "edge_host": "127.0.0.1", "edge_port": free_port(),
        "edge_admin_host": "127.0.0.1", "edge_admin_port": free_port(), **ports, **overrides})
    config = edge.write(settings, folder / "envoy.yaml")
    with run_envoy(config, settings.admin_url, folder / "envoy.log") as envoy:
        if wait_for_jwks and not wait_until(
                lambda: envoy.stat(JWKS_FETCHED_STAT) > 0, ENVOY_START_TIMEOUT_S):
            raise RuntimeError(f"envoy never fetched the JWKS:\n{envoy.log.read_text()}")
        yield settings, envoy


@contextlib.contextmanager
def fake_edge(folder: Path, backend: FakeBackend, closed: tuple[str, ...] = (),
              **overrides: Any) -> Iterator[FakeEdge]:
    """The edge with every service's cluster (the RLS's and the JWKS's too) at `backend`
    except those named in `closed` (at a closed port)."""
    ports = {spec.name: free_port() if spec.name in closed else backend.port
             for spec in SERVICES}
    with extra_edge(folder, ports, wait_for_jwks="auth" not in closed,
                    **overrides) as (settings, envoy):
        yield FakeEdge(settings.edge_url, f"127.0.0.1:{settings.edge_port}", backend, envoy,
                       settings)


def self_signed_certificate(folder: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
                            ) -> tuple[Path, Path]:
    """A self-signed certificate (PEM) for `hosts`, and its key: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll `check` until it is true or `timeout_s` passes; returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
