"""End-to-end fixtures: the whole stack (`tucano-stack up`) on non-default ports, on a fresh
database, for the whole test session.

Ports: edge 18080, Envoy admin 19901, services 58151-58155, simulator 18090, so a developer's
stack on the defaults can keep running. The database `tucano_e2e_<random>` is created before
and dropped (WITH FORCE) after; the services' login roles are the usual cluster-wide ones.

Every service runs unless `TUCANO_E2E_SERVICES` names a subset (a developer's choice);
tests marked `needs_service("<name>")` are then skipped, saying so. A service that cannot be
started (its console script or code missing) fails the tests that need it: a full run never
passes without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from tucano_stack.preflight import missing_command
from tucano_stack.ready import READY_MARKER
from tucano_stack.services import SERVICES, ServiceSpec
from tucano_stack.settings import venv_bin

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TUCANO_DATABASE_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
EDGE_PORT, ADMIN_PORT, SIM_PORT = 18080, 19901, 18090
# The stack's own Redis, so a test can stop and restart it without touching the machine's.
REDIS_PORT = 16379
CORS_ORIGIN = "https://dashboard.e2e.test"  # the dashboard origin the edge allows
JWKS_CACHE_S = 10  # Envoy refetches auth's JWKS this often (rotation test waits for it)
SIGN_IN_LIMIT_PER_MINUTE = 300  # per client address, by the RLS (test_rate_limits.py)
# The edge limits every tenant to its plan (the free plan: 5 requests/s); flows drive a tenant
# faster than a person does. test_rate_limits.py sets low limits per tenant, as overrides.
RELAXED_PLANS = ("UPDATE tenants.plans SET"
                 " api_requests_per_second = GREATEST(api_requests_per_second, 1000),"
                 " api_requests_per_minute = GREATEST(api_requests_per_minute, 100000)")
SERVICE_PORTS = {spec.name: 58100 + spec.default_grpc_port % 100 for spec in SERVICES}  # 5815x
# TUCANO_E2E_SERVICES=tenants,auth runs a subset (default: every implemented service)
WANTED = {n.strip() for n in os.environ.get("TUCANO_E2E_SERVICES", "").split(",") if n.strip()
          } or {s.name for s in SERVICES}
PASSWORD = "correct horse battery staple"  # of the users fixtures sign up
START_TIMEOUT_S = 180.0  # protos, migrations, start-up and readiness on a slow, busy machine
STOP_TIMEOUT_S = 30.0  # honcho: SIGTERM to everything, SIGKILL after 5 s
LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<name>\S+)\s*\| (?P<text>.*)$")
STARTED = re.compile(r"^(?P<name>\S+) started \(pid=(?P<pid>\d+)\)$")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_service(name): skipped when TUCANO_E2E_SERVICES leaves it out")


def implemented(spec: ServiceSpec) -> bool:
    return missing_command(spec.command) is None


class RedisServer:
    """A private redis-server on loopback that tests may kill and start again."""

    def __init__(self, port: int):
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while _port_free(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Stack:
    """A running `tucano-stack up` and everything it printed so far."""

    proc: subprocess.Popen[str]
    database: str
    services: tuple[ServiceSpec, ...]
    verify_token: str
    app_secret: str
    var_dir: Path
    redis: RedisServer
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    edge_url: str = f"http://127.0.0.1:{EDGE_PORT}"
    edge_target: str = f"127.0.0.1:{EDGE_PORT}"
    admin_url: str = f"http://127.0.0.1:{ADMIN_PORT}"

    def output(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def process_lines(self, name: str) -> list[str]:
        """What one honcho process (e.g. "envoy") printed, without honcho's prefix."""
        with self.lock:
            matches = [LINE.match(line) for line in self.lines]
        return [m["text"] for m in matches if m and m["name"] == name]

    def pids(self) -> dict[str, int]:
        started = [STARTED.match(text) for text in self.process_lines("system")]
        return {m["name"]: int(m["pid"]) for m in started if m}

    def running(self, name: str) -> bool:
        return any(s.name == name for s in self.services)


def _read(stack: Stack) -> None:
    assert stack.proc.stdout is not None
    for raw in stack.proc.stdout:
        line = raw.rstrip("\n")
        with stack.lock:
            stack.lines.append(line)
        if READY_MARKER in line:
            stack.ready.set()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT ok
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _admin(sql: str, database: str | None = None) -> None:
    url = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{database}")) if database else ADMIN_URL
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes; honcho reaps its children
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _environment(database: str, services: tuple[ServiceSpec, ...], var_dir: Path,
                 verify_token: str, app_secret: str) -> dict[str, str]:
    admin = urlsplit(ADMIN_URL)
    host, port = admin.hostname or "127.0.0.1", admin.port or 5432
    env = dict(os.environ)
    env.update({
        "TUCANO_EDGE_PORT": str(EDGE_PORT),
        "TUCANO_EDGE_ADMIN_PORT": str(ADMIN_PORT),
        "SIM_PORT": str(SIM_PORT),
        "TUCANO_DATABASE_ADMIN_URL": ADMIN_URL,
        "TUCANO_STACK_SERVICES": ",".join(s.name for s in services),
        "TUCANO_STACK_VAR_DIR": str(var_dir),
        "TUCANO_AUTH_GRPC_TARGET": f"127.0.0.1:{SERVICE_PORTS['auth']}",
        "TUCANO_WEBHOOKS_VERIFY_TOKEN": verify_token,
        "TUCANO_WEBHOOKS_APP_SECRET": app_secret,
        "TUCANO_EDGE_CORS_ORIGINS": CORS_ORIGIN,
        "TUCANO_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "TUCANO_EDGE_JWKS_CACHE_S": str(JWKS_CACHE_S),
        # publish rotated keys longer ahead than the edge caches the key set
        "TUCANO_AUTH_KEY_PUBLISH_LEAD_S": str(JWKS_CACHE_S * 2),
        # every test signs up from 127.0.0.1: far more sign-ins per minute than a person makes
        "TUCANO_RATELIMIT_AUTH_PER_IP_PER_MINUTE": str(SIGN_IN_LIMIT_PER_MINUTE),
        "PYTHONUNBUFFERED": "1",
    })
    for spec in SERVICES:
        env[spec.port_env] = str(SERVICE_PORTS[spec.name])
        for name in spec.database_url_envs:
            env[name] = f"postgresql://{spec.db_role}@{host}:{port}/{database}"
    return env


def _stop(stack: Stack) -> list[str]:
    """SIGINT, as Ctrl-C would; returns what did not stop (after cleaning it up)."""
    problems = []
    if stack.proc.poll() is None:
        stack.proc.send_signal(signal.SIGINT)
    try:
        stack.proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        problems.append(f"tucano-stack up still running {STOP_TIMEOUT_S:g}s after SIGINT")
        stack.proc.kill()
        stack.proc.wait()
    deadline = time.monotonic() + 10
    for name, pid in stack.pids().items():
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            problems.append(f"{name} (pid {pid}) still running after the stack stopped")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    return problems


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    busy = [p for p in (EDGE_PORT, ADMIN_PORT, SIM_PORT, REDIS_PORT, *SERVICE_PORTS.values())
            if not _port_free(p)]
    if busy:
        pytest.fail(f"e2e ports already in use (another e2e stack running?): {busy}")
    broken = [f"{s.name}: {missing_command(s.command)}" for s in SERVICES
              if s.name in WANTED and not implemented(s)]
    if broken:
        pytest.fail(f"services that cannot start: {'; '.join(broken)}", pytrace=False)
    services = tuple(s for s in SERVICES if s.name in WANTED)
    left_out = [s.name for s in SERVICES if s not in services]
    if left_out:
        print(f"\ne2e: left out of the stack (not in TUCANO_E2E_SERVICES): "
              f"{', '.join(left_out)}")
    redis = RedisServer(REDIS_PORT)
    redis.start()
    database = f"tucano_e2e_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    var_dir = tmp_path_factory.mktemp("stack-var")
    verify_token = f"e2e-verify-{secrets.token_hex(8)}"
    app_secret = f"e2e-app-secret-{secrets.token_hex(8)}"
    proc = subprocess.Popen(
        [str(venv_bin() / "tucano-stack"), "up"], cwd=ROOT, text=True, bufsize=1,
        env=_environment(database, services, var_dir, verify_token, app_secret),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    stack = Stack(proc=proc, database=database, services=services, verify_token=verify_token,
                  app_secret=app_secret, var_dir=var_dir, redis=redis)
    reader = threading.Thread(target=_read, args=(stack,), name="stack-output", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not stack.ready.wait(0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                reader.join(timeout=5)
                why = (f"exited with {proc.returncode}" if proc.poll() is not None
                       else f"not ready within {START_TIMEOUT_S:g}s")
                pytest.fail(f"tucano-stack up {why}; its output:\n{stack.output()}",
                            pytrace=False)
        if stack.running("tenants"):
            asyncio.run(_admin(RELAXED_PLANS, database))
        yield stack
    finally:
        problems = _stop(stack)
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        redis.stop()
    if problems:
        pytest.fail("stack did not stop cleanly: " + "; ".join(problems)
                    + f"\nits output:\n{stack.output()}", pytrace=False)


@pytest.fixture(autouse=True)
def _needs_service(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("needs_service")
    if marker is None:
        return
    name = marker.args[0]
    assert any(s.name == name for s in SERVICES), f"no service named {name}"
    if name not in WANTED:
        pytest.skip(f"{name} is not in TUCANO_E2E_SERVICES")


@pytest.fixture
def http(stack: Stack) -> Iterator[httpx.Client]:
    """A REST client of the stack's edge."""
    with httpx.Client(base_url=stack.edge_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def platform_operator(stack: Stack, http: httpx.Client) -> dict[str, Any]:
    """Tokens of a new platform operator: signed up, flagged with `tucano-auth
    platform-operator EMAIL on`, then signed in (the flag reaches tokens at sign-in)."""
    email = f"op.{secrets.token_hex(4)}@example.com"
    signed = http.post("/v1/auth:signup", json={
        "email": email, "password": PASSWORD, "display_name": "Operator",
        "tenant_name": "Platform"})
    assert signed.status_code == 200, signed.text
    env = {**os.environ, "TUCANO_AUTH_DATABASE_URL":
           f"postgresql://tucano_auth@127.0.0.1:5432/{stack.database}"}
    result = subprocess.run(
        [sys.executable, "-c", "from tucano_auth.__main__ import main; main()",
         "platform-operator", email, "on"],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    login = http.post("/v1/auth:login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens: dict[str, Any] = login.json()["tokens"]
    return tokens
