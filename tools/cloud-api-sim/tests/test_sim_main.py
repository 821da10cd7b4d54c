"""Settings from the environment and the real entry point as a subprocess."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys

import aiohttp
import pytest
from tucano_cloud_api_sim.settings import FIELDS, Settings, SettingsError, load_settings


def test_every_setting_has_one_sim_variable() -> None:
    assert set(FIELDS) == {f.name for f in dataclasses.fields(Settings)}
    names = [env for env, _ in FIELDS.values()]
    assert len(set(names)) == len(names) and all(n.startswith("SIM_") for n in names)


def test_defaults_and_parsing() -> None:
    assert load_settings({}) == Settings()
    s = load_settings(
        {
            "SIM_PORT": "9000",
            "SIM_ERROR_RATE": "0.25",
            "SIM_SEED": "7",
            "SIM_STATUS_CONTACTS": "off",
            "SIM_WEBHOOK_URL": "http://127.0.0.1:1/x",
        }
    )
    assert (s.port, s.error_rate, s.seed, s.status_contacts) == (9000, 0.25, 7, False)
    assert Settings().host == "127.0.0.1" and Settings().port == 8090
    assert Settings().default_mps == 80 and Settings().webhook_url == ""


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("SIM_PORT", "http"),
        ("SIM_PORT", "70000"),
        ("SIM_DEFAULT_MPS", "1001"),
        ("SIM_ERROR_RATE", "1.5"),
        ("SIM_ERROR_RATE", "nan"),
        ("SIM_WEBHOOK_URL", "ftp://x"),
        ("SIM_STATUS_CONTACTS", "maybe"),
        ("SIM_APP_SECRET", ""),
        ("SIM_WEBHOOK_RETRY_MAX_S", "0.001"),
    ],
)
def test_invalid_setting_names_the_variable(env: str, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({env: value})
    assert str(err.value).startswith(env)


async def run_module(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tucano_cloud_api_sim",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_invalid_setting_exits_with_one_line_and_no_traceback() -> None:
    proc = await run_module({"SIM_DEFAULT_MPS": "5000"})
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "SIM_DEFAULT_MPS" in lines[0]
    assert "Traceback" not in stderr.decode()


async def test_entry_point_serves_and_stops_on_sigterm() -> None:
    proc = await run_module({"SIM_PORT": "0", "SIM_LOG_LEVEL": "WARNING"})
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert "listening on http://127.0.0.1:" in line
        base = line.split("listening on ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http, http.get(f"{base}/_sim/health") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_port_in_use_exits_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await run_module({"SIM_PORT": str(port)})
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0]
