"""`tucano-stack wait-ready`: poll every component until all are healthy, then print where
everything is. Under `up` it runs as the `ready` process with `--hold`: it then stays up, so a
readiness failure (exit 1) stops the whole stack, and success leaves the stack running.

Healthy means: each service answers grpc.health.v1 SERVING for "" and for every service of its
proto package in the descriptor set; Envoy's admin /ready says LIVE and (with auth running)
Envoy has fetched auth's JWKS at least once, so tokens are checked from the first request; the
simulator's /_sim/health answers 200.
"""

from __future__ import annotations

import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tucano_stack.descriptors import Catalogue
from tucano_stack.services import ServiceSpec
from tucano_stack.settings import StackSettings

READY_MARKER = "Tucano stack is ready"
POLL_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 2.0
CHANNEL_OPTIONS = [  # reconnect quickly: services come up while we poll
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]

Probe = Callable[[], str | None]  # None when healthy, else why not


@dataclass
class GrpcHealthProbe:
    address: str
    names: Sequence[str]  # "" (the server) and each full service name
    channel: grpc.Channel | None = None

    def __call__(self) -> str | None:
        if self.channel is None:
            self.channel = grpc.insecure_channel(self.address, options=CHANNEL_OPTIONS)
        stub = health_pb2_grpc.HealthStub(self.channel)
        for name in self.names:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=name),
                                   timeout=PROBE_TIMEOUT_S)
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                what = code.name if code else type(exc).__name__
                return f"grpc health {name or '(server)'} at {self.address}: {what}"
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
                return f"grpc health {name or '(server)'} at {self.address}: {status}"
        return None

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()


def http_probe(url: str, expect_body: str | None = None) -> Probe:
    def probe() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
                body = response.read(256).decode(errors="replace").strip()
                if expect_body is not None and body != expect_body:
                    return f"GET {url} answered {body!r}, not {expect_body!r}"
                return None
        except urllib.error.HTTPError as exc:
            body = exc.read(256).decode(errors="replace").strip()
            return f"GET {url} answered {exc.code} {body!r}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"GET {url}: {reason}"

    return probe


JWKS_FETCHED_STAT = "http.edge.jwt_authn.jwks_fetch_success"


def stat_probe(admin_url: str, stat: str) -> Probe:
    """Healthy once Envoy's counter `stat` is above zero."""
    url = f"{admin_url}/stats?filter=^{stat}$"

    def probe() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
                text = response.read(4096).decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return f"GET {url}: {getattr(exc, 'reason', exc)}"
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if name == stat and value.strip().isdigit() and int(value) > 0:
                return None
        return f"{stat} is 0 (Envoy has not fetched auth's JWKS yet)"

    return probe


def probes(settings: StackSettings, services: Sequence[ServiceSpec], catalogue: Catalogue,
           with_sim: bool) -> dict[str, Probe]:
    found: dict[str, Probe] = {}
    for spec in services:
        names = ["", *catalogue.services_by_package.get(spec.proto_package, ())]
        found[spec.name] = GrpcHealthProbe(settings.grpc_address(spec), names)
    found["envoy"] = http_probe(f"{settings.admin_url}/ready", expect_body="LIVE")
    if any(spec.name == "auth" for spec in services):
        found["envoy-jwks"] = stat_probe(settings.admin_url, JWKS_FETCHED_STAT)
    if with_sim:
        found["sim"] = http_probe(f"{settings.sim_url}/_sim/health")
    return found


def wait(checks: dict[str, Probe], timeout_s: float) -> dict[str, str]:
    """Poll until every probe passes or `timeout_s` passes; returns what is still unhealthy."""
    deadline = time.monotonic() + timeout_s
    pending = dict.fromkeys(checks, "not checked yet")
    while True:
        for name in list(pending):
            reason = checks[name]()
            if reason is None:
                del pending[name]
            else:
                pending[name] = reason
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(POLL_INTERVAL_S)


def banner(settings: StackSettings, services: Sequence[ServiceSpec], catalogue: Catalogue,
           with_sim: bool) -> str:
    edge = f"{settings.edge_host}:{settings.edge_port}"
    width = max(len(s.name) for s in services)
    lines = [
        "=" * 78,
        f" {READY_MARKER}",
        f"   REST        {settings.edge_url}",
        f"   gRPC        {edge}   (native gRPC over {'TLS' if settings.tls else 'h2c'}, same "
        "port as REST)",
        "   services    direct gRPC, with health and reflection:",
        *(f"     {s.name:<{width}}  {settings.grpc_address(s)}" for s in services),
        (f"   simulator   {settings.sim_url}   (health: {settings.sim_url}/_sim/health)"
         if with_sim else "   simulator   not installed (skipped)"),
        f"   Envoy admin {settings.admin_url}",
        " Try (public paths; the others need `-H 'authorization: Bearer <access_token>'`, from",
        "      POST /v1/auth:signup or /v1/auth:login):",
    ]
    public = public_rpcs()
    for spec in services:
        rules = [r for r in catalogue.http_rules.get(spec.proto_package, ())
                 if r.method == "GET" and "{" not in r.path and r.rpc in public]
        if rules:
            lines.append(f"   curl -si {settings.edge_url}{rules[0].path}")
    spec = services[0]
    first_rules = catalogue.http_rules.get(spec.proto_package, ())
    if first_rules:
        service, method = first_rules[0].rpc.rsplit(".", 1)
        transport = "-insecure" if settings.tls else "-plaintext"
        lines.append(f"   grpcurl {transport} -protoset {settings.descriptors} {edge} "
                     f"{service}/{method}")
    lines.append(f"   grpcurl -plaintext {settings.grpc_address(spec)} list")
    lines += [" Ctrl-C stops everything.", "=" * 78]
    return "\n".join(lines)


def public_rpcs() -> set[str]:
    """Full names of the RPCs the edge serves without a token."""
    from tucano_stack.access import Exposure, exposure, load_policies  # noqa: PLC0415

    return {path[1:].replace("/", ".") for policy in load_policies().values()
            for path, access in policy.items() if exposure(access) is Exposure.PUBLIC}


def hold() -> None:
    """Stay up until SIGTERM/SIGINT (honcho stops us with the rest), then exit 0."""
    def stop(signum: int, frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        signal.pause()


def run(settings: StackSettings, services: Sequence[ServiceSpec], catalogue: Catalogue, *,
        with_sim: bool, timeout_s: float, keep_running: bool) -> int:
    checks = probes(settings, services, catalogue, with_sim)
    try:
        unhealthy = wait(checks, timeout_s)
    finally:
        for check in checks.values():
            if isinstance(check, GrpcHealthProbe):
                check.close()
    if unhealthy:
        print(f"tucano-stack: not ready after {timeout_s:g}s:", flush=True)
        for name, reason in unhealthy.items():
            print(f"tucano-stack:   {name}: {reason}", flush=True)
        return 1
    print(banner(settings, services, catalogue, with_sim), flush=True)
    if keep_running:
        hold()
    return 0
