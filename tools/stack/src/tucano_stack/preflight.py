"""What `tucano-stack up` does before it starts anything: fresh protos, reachable dependencies,
migrated schemas, the RabbitMQ topology, and the environment every process gets.

Every failure is a `StackError` (or the kit's `ConfigError`) with a one-line message naming the
setting or command to fix; `__main__` prints it and exits 2.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis
from tucano_kit.amqp.connection import connect as amqp_connect
from tucano_kit.amqp.topology import TopologyError, declare_topology
from tucano_kit.lifecycle import connect_or_fail
from tucano_kit.settings import ConfigError

from tucano_stack.errors import StackError
from tucano_stack.services import BY_NAME, SIM_COMMAND, ServiceSpec
from tucano_stack.settings import StackSettings, command_path, search_path


def say(message: str) -> None:
    print(f"tucano-stack: {message}", flush=True)


def warn(message: str) -> None:
    print(f"tucano-stack: warning: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- protos
def protos_stale(root: Path, descriptors: Path) -> bool:
    """True when the descriptor set is missing or older than any .proto file."""
    if not descriptors.exists():
        return True
    built = descriptors.stat().st_mtime
    return any(p.stat().st_mtime > built for p in (root / "proto").rglob("*.proto"))


def ensure_protos(settings: StackSettings) -> None:
    root, descriptors = settings.root, settings.descriptors
    if settings.edge_descriptors:  # a descriptor set given explicitly is used as is
        if not descriptors.exists():
            raise ConfigError(f"TUCANO_EDGE_DESCRIPTORS: {descriptors} does not exist")
        return
    if not protos_stale(root, descriptors):
        return
    say("generating protos (build/descriptors.binpb is missing or older than proto/)")
    script = root / "scripts" / "gen_protos.py"
    result = subprocess.run([sys.executable, str(script)], cwd=root, check=False)
    if result.returncode != 0:
        raise StackError(f"{script.relative_to(root)} failed (exit {result.returncode})")


# ---------------------------------------------------------------------------- commands
def missing_command(command: str) -> str | None:
    """Why `command` cannot run (not installed, or its module is not written yet), or None."""
    if command_path(command) is None:
        return f"command {command} not found"
    for ep in importlib.metadata.entry_points(group="console_scripts", name=command):
        try:
            found = importlib.util.find_spec(ep.module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{command} is installed but its module {ep.module} does not exist"
    return None


def check_services(settings: StackSettings) -> None:
    for spec in settings.services:
        reason = missing_command(spec.command)
        if reason:
            raise StackError(f"TUCANO_STACK_SERVICES: {reason}; run a subset, e.g. "
                             f"TUCANO_STACK_SERVICES=tenants")


def sim_available() -> bool:
    reason = missing_command(SIM_COMMAND)
    if reason:
        warn(f"{reason}; starting without the Cloud API simulator")
        return False
    return True


# ---------------------------------------------------------------------------- environment
# Secrets the services refuse to start without. Locally, unless the environment sets them, they
# are generated once into var/dev-secrets.env (gitignored, mode 0600) and reused, so data they
# protect (auth's signing keys, encrypted with the KEK) stays readable across restarts.
DEV_SECRETS: dict[str, Callable[[], str]] = {
    "TUCANO_AUTH_KEY_ENCRYPTION_KEY": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    "TUCANO_WEBHOOKS_APP_SECRET": lambda: secrets.token_hex(16),
    "TUCANO_WEBHOOKS_VERIFY_TOKEN": lambda: secrets.token_hex(16),
}
DEV_SECRETS_FILE = "dev-secrets.env"


def dev_secrets(var_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Values for the DEV_SECRETS the environment does not set (generated on first use)."""
    path = var_dir / DEV_SECRETS_FILE
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                stored[name.strip()] = value.strip()
    missing = [name for name in DEV_SECRETS if not env.get(name) and not stored.get(name)]
    if missing:
        stored.update({name: DEV_SECRETS[name]() for name in missing})
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# local-only secrets generated by tucano-stack; never use in production\n")
            out.writelines(f"{name}={value}\n" for name, value in stored.items())
        say(f"generated local secrets {', '.join(missing)} into {path}")
    return {name: value for name, value in stored.items()
            if name in DEV_SECRETS and not env.get(name)}


def process_env(settings: StackSettings) -> dict[str, str]:
    """The environment of every process: the caller's, with the resolved addresses made explicit
    so services, simulator, Envoy and readiness checks agree on them, and the services wired to
    each other (auth's address, the simulator as the Cloud API, the simulator's webhooks to the
    gateway through the edge, signed with the gateway's secret)."""
    env = dict(os.environ)
    env.update(dev_secrets(settings.var_dir, env))
    env["PATH"] = search_path(env)
    env["PYTHONUNBUFFERED"] = "1"  # lines reach honcho as they are written
    env["TUCANO_GRPC_HOST"] = settings.grpc_host
    for spec in settings.services:
        env[spec.port_env] = str(settings.grpc_port(spec))
    env["TUCANO_DATABASE_ADMIN_URL"] = settings.database_admin_url
    env["TUCANO_AMQP_URL"] = settings.amqp_url
    env["TUCANO_REDIS_URL"] = settings.redis_url
    env.setdefault("TUCANO_AUTH_GRPC_TARGET", settings.grpc_address(BY_NAME["auth"]))
    env.setdefault("TUCANO_TENANTS_GRPC_TARGET", settings.grpc_address(BY_NAME["tenants"]))
    env["SIM_HOST"] = settings.sim_host
    env["SIM_PORT"] = str(settings.sim_port)
    env.setdefault("TUCANO_GRAPH_BASE_URL", settings.sim_url)
    env.setdefault("SIM_APP_SECRET", env["TUCANO_WEBHOOKS_APP_SECRET"])
    env.setdefault("SIM_VERIFY_TOKEN", env["TUCANO_WEBHOOKS_VERIFY_TOKEN"])
    if any(spec.name == "webhooks-gateway" for spec in settings.services):
        env.setdefault("SIM_WEBHOOK_URL", f"{settings.edge_url}/webhooks/whatsapp")
    return env


# ---------------------------------------------------------------------------- dependencies
async def _check_postgres(settings: StackSettings) -> None:
    url = settings.database_admin_url
    conn = await connect_or_fail("TUCANO_DATABASE_ADMIN_URL", url, settings.dependency_timeout_s,
                                 lambda: asyncpg.connect(url))
    await conn.close()


async def _check_redis(settings: StackSettings) -> None:
    client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2.0,
                                     socket_connect_timeout=2.0)
    try:
        await connect_or_fail("TUCANO_REDIS_URL", settings.redis_url,
                              settings.dependency_timeout_s, client.ping)
    finally:
        await client.aclose()


async def _check_rabbitmq(settings: StackSettings) -> None:
    url = settings.amqp_url
    connection = await connect_or_fail(
        "TUCANO_AMQP_URL", url, settings.dependency_timeout_s,
        lambda: amqp_connect(url, name="tucano-stack", timeout_s=settings.dependency_timeout_s))
    await connection.close()


async def _check_all(settings: StackSettings) -> None:
    # one at a time, so the first failure is the one reported
    await _check_postgres(settings)
    await _check_rabbitmq(settings)
    await _check_redis(settings)


def check_dependencies(settings: StackSettings) -> None:
    asyncio.run(_check_all(settings))
    say("PostgreSQL, RabbitMQ and Redis answer")


async def _declare(settings: StackSettings) -> None:
    url = settings.amqp_url
    connection = await connect_or_fail(
        "TUCANO_AMQP_URL", url, settings.dependency_timeout_s,
        lambda: amqp_connect(url, name="tucano-stack", timeout_s=settings.dependency_timeout_s))
    try:
        await declare_topology(connection)
    except TopologyError as exc:
        raise StackError(f"TUCANO_AMQP_URL: RabbitMQ topology: {exc}") from None
    finally:
        await connection.close()


def declare_rabbitmq_topology(settings: StackSettings) -> None:
    asyncio.run(_declare(settings))
    say("RabbitMQ topology declared")


# ---------------------------------------------------------------------------- migrations
def migrate(settings: StackSettings, env: Mapping[str, str]) -> None:
    for spec in settings.services:
        migrate_one(spec, env)
    say(f"migrated {', '.join(s.name for s in settings.services)}")


def migrate_one(spec: ServiceSpec, env: Mapping[str, str]) -> None:
    command = shutil.which(spec.command, path=env["PATH"]) or spec.command
    result = subprocess.run([command, "migrate"], env=dict(env), check=False)
    if result.returncode != 0:
        raise StackError(f"`{spec.command} migrate` failed (exit {result.returncode}); "
                         "its message is above")
