"""`tucano-stack` as a command: one-line errors with exit 2, readiness failures, rendering."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from tucano_kit.settings import load_settings
from tucano_stack import preflight
from tucano_stack.settings import StackSettings, repo_root, venv_bin

DESCRIPTORS = repo_root() / "build" / "descriptors.binpb"
needs_descriptors = pytest.mark.skipif(not DESCRIPTORS.exists(),
                                       reason="run scripts/gen_protos.py first")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv_bin() / "tucano-stack"), *args], capture_output=True,
                          text=True, timeout=timeout, check=False, cwd=repo_root(),
                          env={**os.environ, **env})


def assert_one_line_error(result: subprocess.CompletedProcess[str], setting: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "warning" not in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("tucano-stack: ") and setting in errors[0], result.stderr


@needs_descriptors
def test_unreachable_postgres_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres"
    result = run("up", TUCANO_DATABASE_ADMIN_URL=url, TUCANO_STACK_SERVICES="tenants",
                 TUCANO_EDGE_DESCRIPTORS=str(DESCRIPTORS), TUCANO_STACK_VAR_DIR=str(tmp_path),
                 TUCANO_DEPENDENCY_TIMEOUT_S="3")
    assert_one_line_error(result, "TUCANO_DATABASE_ADMIN_URL")


def test_bad_settings_are_one_line_naming_the_variable(tmp_path: Path) -> None:
    assert_one_line_error(run("render-edge", TUCANO_EDGE_PORT="eighty"), "TUCANO_EDGE_PORT")
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    result = run("render-edge", TUCANO_EDGE_TLS_CERT=str(cert), TUCANO_EDGE_TLS_KEY="")
    assert_one_line_error(result, "TUCANO_EDGE_TLS_CERT and TUCANO_EDGE_TLS_KEY")
    assert_one_line_error(run("render-edge", TUCANO_EDGE_CORS_ORIGINS="app.example.com"),
                          "TUCANO_EDGE_CORS_ORIGINS")
    assert_one_line_error(run("up", TUCANO_STACK_SERVICES="tenants,billing"),
                          "TUCANO_STACK_SERVICES")


@needs_descriptors
def test_render_edge_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "envoy.yaml"
    result = run("render-edge", "--out", str(out), TUCANO_EDGE_PORT="28080")
    assert result.returncode == 0, result.stderr
    assert "port_value: 28080" in out.read_text()
    printed = run("render-edge", TUCANO_EDGE_PORT="28080")
    assert printed.stdout == out.read_text()


@needs_descriptors
def test_wait_ready_names_what_is_not_healthy() -> None:
    started = time.monotonic()
    result = run("wait-ready", "--services", "tenants", "--no-sim", "--timeout", "1",
                 TUCANO_TENANTS_GRPC_PORT=str(closed_port()),
                 TUCANO_EDGE_ADMIN_PORT=str(closed_port()))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not ready after 1s" in result.stdout
    assert "tenants: grpc health" in result.stdout
    assert "envoy: GET http://127.0.0.1:" in result.stdout
    assert time.monotonic() - started < 100  # bounded, whatever the machine's load


def test_protos_are_stale_when_missing_or_older_than_a_proto(tmp_path: Path) -> None:
    proto = tmp_path / "proto" / "tucano" / "x" / "v1" / "x.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text('syntax = "proto3";')
    descriptors = tmp_path / "build" / "descriptors.binpb"
    assert preflight.protos_stale(tmp_path, descriptors)
    descriptors.parent.mkdir()
    descriptors.write_bytes(b"")
    os.utime(proto, (1_000_000, 1_000_000))
    assert not preflight.protos_stale(tmp_path, descriptors)
    os.utime(proto, None)
    os.utime(descriptors, (1_000_000, 1_000_000))
    assert preflight.protos_stale(tmp_path, descriptors)


def test_dev_secrets_are_generated_once_and_the_environment_wins(tmp_path: Path) -> None:
    first = preflight.dev_secrets(tmp_path, {})
    assert set(first) == set(preflight.DEV_SECRETS)
    assert (tmp_path / preflight.DEV_SECRETS_FILE).stat().st_mode & 0o777 == 0o600
    assert preflight.dev_secrets(tmp_path, {}) == first
    given = {"TUCANO_WEBHOOKS_APP_SECRET": "from-the-environment"}
    assert "TUCANO_WEBHOOKS_APP_SECRET" not in preflight.dev_secrets(tmp_path, given)


def test_process_env_wires_services_to_each_other(tmp_path: Path) -> None:
    settings = load_settings(StackSettings, stack_var_dir=str(tmp_path), auth_grpc_port=28151,
                             sim_port=28090, edge_port=28080,
                             stack_services="auth,webhooks-gateway")
    env = preflight.process_env(settings)
    assert env["TUCANO_AUTH_GRPC_PORT"] == "28151"
    assert env["SIM_PORT"] == "28090"
    assert str(venv_bin()) == env["PATH"].split(os.pathsep)[0]
    assert env["SIM_APP_SECRET"] == env["TUCANO_WEBHOOKS_APP_SECRET"]
    assert env["SIM_VERIFY_TOKEN"] == env["TUCANO_WEBHOOKS_VERIFY_TOKEN"]
    if "TUCANO_AUTH_GRPC_TARGET" not in os.environ:
        assert env["TUCANO_AUTH_GRPC_TARGET"] == "127.0.0.1:28151"
    if "SIM_WEBHOOK_URL" not in os.environ:
        assert env["SIM_WEBHOOK_URL"] == "http://127.0.0.1:28080/webhooks/whatsapp"
    if "TUCANO_GRAPH_BASE_URL" not in os.environ:
        assert env["TUCANO_GRAPH_BASE_URL"] == "http://127.0.0.1:28090"
