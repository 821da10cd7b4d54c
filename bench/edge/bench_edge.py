"""Benchmark (not a test): what the Envoy edge costs, for an authenticated GET.

    uv run python bench/edge/bench_edge.py [--seconds 15] [--concurrency 1 4 16]

Starts the stack (`tucano-stack up`, auth, tenants and messaging) on its own ports against a
fresh database (dropped at the end), signs up a user through the edge, lifts that tenant's
rate limits (plan overrides, in the bench's own database), then, for each concurrency level and
for `--seconds` each, calls messaging's ListChannels:

    rest_via_envoy   GET /v1/channels through Envoy (JWT, rate limits with the RLS call,
                     transcoding), with aiohttp
    grpc_via_envoy   the same RPC over native gRPC through Envoy (JWT, rate limits)
    grpc_direct      the same RPC straight to messaging's gRPC port (grpc.aio)
    rls_direct       for reference: the RLS call Envoy makes on each of the two "via_envoy"
                     requests (tenants' ShouldRateLimit with the tenant's descriptor), direct

and records requests/s and p50/p99 latency of each side by side in results.json (beside this
file). Every call carries the same access token; messaging verifies it in every mode. The
client runs on the same 2-core machine as Envoy and the services, so the figures are for
comparison within a run, not capacities.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import grpc
from tucano.messaging.v1 import channels_pb2, channels_pb2_grpc
from tucano.vendor import envoy_rls_pb2, envoy_rls_pb2_grpc
from tucano_stack.ready import READY_MARKER
from tucano_stack.services import SERVICES
from tucano_stack.settings import venv_bin

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ADMIN_URL = os.environ.get("TUCANO_DATABASE_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
EDGE_PORT, ADMIN_PORT, SIM_PORT = 28180, 29911, 28190
SERVICE_PORTS = {spec.name: 58200 + spec.default_grpc_port % 100 for spec in SERVICES}  # 5825x
STACK_SERVICES = ("auth", "tenants", "messaging")
START_TIMEOUT_S = 240.0
WARMUP_S = 2.0
PASSWORD = "correct horse battery staple"
MODES = ("rest_via_envoy", "grpc_via_envoy", "grpc_direct", "rls_direct")
LIFT_LIMITS = ("UPDATE tenants.tenants SET api_requests_per_second_override = 100000, "
               "api_requests_per_minute_override = 6000000 WHERE id = $1")


# ---------------------------------------------------------------------------- the stack
def _with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if user is None else (
        f"{user}@{parts.hostname or '127.0.0.1'}:{parts.port or 5432}")
    return urlunsplit((parts.scheme, netloc, f"/{database}", "", ""))


async def _admin(sql: str, *args: object, database: str | None = None) -> None:
    conn = await asyncpg.connect(_with_database(ADMIN_URL, database) if database else ADMIN_URL)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


@contextlib.contextmanager
def running_stack(var_dir: Path) -> Iterator[str]:
    """`tucano-stack up` on the bench's ports and a fresh database; yields the database."""
    database = f"tucano_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    env = {**os.environ, "TUCANO_EDGE_PORT": str(EDGE_PORT),
           "TUCANO_EDGE_ADMIN_PORT": str(ADMIN_PORT), "SIM_PORT": str(SIM_PORT),
           "TUCANO_DATABASE_ADMIN_URL": ADMIN_URL, "TUCANO_STACK_VAR_DIR": str(var_dir),
           "TUCANO_STACK_SERVICES": ",".join(STACK_SERVICES),
           "TUCANO_AUTH_GRPC_TARGET": f"127.0.0.1:{SERVICE_PORTS['auth']}",
           "TUCANO_TENANTS_GRPC_TARGET": f"127.0.0.1:{SERVICE_PORTS['tenants']}",
           "TUCANO_WEBHOOKS_VERIFY_TOKEN": secrets.token_hex(8),
           "TUCANO_WEBHOOKS_APP_SECRET": secrets.token_hex(8),
           "PYTHONUNBUFFERED": "1"}
    for spec in SERVICES:
        env[spec.port_env] = str(SERVICE_PORTS[spec.name])
        for name in spec.database_url_envs:
            env[name] = _with_database(ADMIN_URL, database, spec.db_role)
    proc = subprocess.Popen([str(venv_bin() / "tucano-stack"), "up"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    tail: deque[str] = deque(maxlen=60)
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip())
            if READY_MARKER in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.wait(0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stack did not start:\n" + "\n".join(tail))
        yield database
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=10)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


# ---------------------------------------------------------------------------- load
Call = Callable[[], Awaitable[bool]]


async def drive(call: Call, concurrency: int, seconds: float) -> dict[str, Any]:
    """`concurrency` workers calling in a loop for `seconds` (after a warm-up)."""
    latencies: list[float] = []
    errors = 0
    measuring = False

    async def worker(deadline: float) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            ok = await call()
            elapsed = time.perf_counter() - started
            if measuring:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    warm_deadline = time.monotonic() + WARMUP_S
    await asyncio.gather(*(worker(warm_deadline) for _ in range(concurrency)))
    measuring = True
    started = time.monotonic()
    await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
    wall = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "errors": errors,
            "rps": round(len(latencies) / wall, 1),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2)}


async def bench(token: str, tenant: str, levels: list[int], seconds: float
                ) -> list[dict[str, Any]]:
    edge = f"http://127.0.0.1:{EDGE_PORT}"
    metadata = (("authorization", f"Bearer {token}"),)
    rows = []
    connector = aiohttp.TCPConnector(limit=max(levels))
    async with aiohttp.ClientSession(connector=connector) as http, \
            grpc.aio.insecure_channel(f"127.0.0.1:{EDGE_PORT}") as via_envoy, \
            grpc.aio.insecure_channel(f"127.0.0.1:{SERVICE_PORTS['messaging']}") as direct, \
            grpc.aio.insecure_channel(f"127.0.0.1:{SERVICE_PORTS['tenants']}") as tenants:
        headers = {"authorization": f"Bearer {token}"}

        async def rest() -> bool:
            async with http.get(f"{edge}/v1/channels", headers=headers) as response:
                await response.read()
                return response.status == 200

        def grpc_call(channel: grpc.aio.Channel) -> Call:
            stub = channels_pb2_grpc.ChannelsServiceStub(channel)

            async def call() -> bool:
                try:
                    await stub.ListChannels(channels_pb2.ListChannelsRequest(),
                                            metadata=metadata, timeout=10)
                except grpc.aio.AioRpcError:
                    return False
                return True

            return call

        rls = envoy_rls_pb2_grpc.RateLimitServiceStub(tenants)
        rls_request = envoy_rls_pb2.RateLimitRequest(domain="tucano", descriptors=[
            envoy_rls_pb2.RateLimitDescriptor(entries=[
                envoy_rls_pb2.RateLimitDescriptor.Entry(key="tenant", value=tenant)])])

        async def rls_call() -> bool:
            reply = await rls.ShouldRateLimit(rls_request, timeout=10)
            return bool(reply.overall_code == envoy_rls_pb2.RateLimitResponse.OK)

        modes = {"rest_via_envoy": rest, "grpc_via_envoy": grpc_call(via_envoy),
                 "grpc_direct": grpc_call(direct), "rls_direct": rls_call}
        for level in levels:
            row: dict[str, Any] = {"concurrency": level}
            for name, call in modes.items():
                row[name] = await drive(call, level, seconds)
                print(f"  c={level:<3} {name:<15} {row[name]}", flush=True)
            rows.append(row)
    return rows


async def sign_up(database: str) -> tuple[str, str]:
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{EDGE_PORT}/v1/auth:signup", json={
                "email": f"bench.{secrets.token_hex(4)}@example.com", "password": PASSWORD,
                "display_name": "Bench", "tenant_name": "Bench Co"}) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"signup failed: {response.status} {body}")
    tokens = body["tokens"]
    await _admin(LIFT_LIMITS, uuid.UUID(tokens["tenant_id"]), database=database)
    await asyncio.sleep(4)  # the RLS caches a tenant's limits for ~3 s
    return str(tokens["access_token"]), str(tokens["tenant_id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    envoy = subprocess.run([str(venv_bin() / "envoy"), "--version"], capture_output=True,
                           text=True, check=False).stdout.strip().split("version: ")[-1]
    print(f"starting the stack ({', '.join(STACK_SERVICES)}) ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as var_dir, \
            running_stack(Path(var_dir)) as database:
        token, tenant = asyncio.run(sign_up(database))
        rows = asyncio.run(bench(token, tenant, args.concurrency, args.seconds))
    best = {mode: max(row[mode]["rps"] for row in rows) for mode in MODES}
    results = {
        "benchmark": "edge.bench_edge",
        "what": ("messaging ListChannels (authenticated, empty list) through the Envoy edge as "
                 "REST and as native gRPC, and straight to messaging over gRPC, side by side"),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "envoy": envoy},
        "config": {
            "seconds_per_mode": args.seconds, "warmup_s": WARMUP_S,
            "concurrency": args.concurrency, "services": list(STACK_SERVICES),
            "clients": "aiohttp (REST), grpc.aio (gRPC), one process on the same machine",
            "rate_limits": ("in the path: jwt_authn, local_ratelimit, and the ratelimit "
                            "filter calling the RLS in tenants on every request; the tenant's "
                            "limits lifted by plan overrides (100000/s, 6000000/min) so "
                            "nothing is refused"),
        },
        "best_rps": best,
        "rows": rows,
        "notes": ("Same token and RPC in every mode; messaging verifies the token in each. "
                  "Errors count non-200 replies (none expected). The client competes with "
                  "Envoy and the services for the 2 cores."),
    }
    out = HERE / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    print(f"{'c':>3}  {'mode':<15} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for row in rows:
        for mode in MODES:
            r = row[mode]
            print(f"{row['concurrency']:>3}  {mode:<15} {r['rps']:>8} {r['p50_ms']:>8} "
                  f"{r['p99_ms']:>8} {r['errors']:>6}")


if __name__ == "__main__":
    main()
