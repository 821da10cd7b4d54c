"""Benchmark/check: the per-number throughput limit over a 10-second run.

    python bench/cloud_api_sim/bench_limiter.py [--seconds 10] [--mps 80 1000]

For each ``--mps`` (Meta's default 80 and the 1,000 maximum), starts the simulator
(``python -m tucano_cloud_api_sim``, default settings: burst 0.5 s), offers well above that
rate to one number for ``--seconds``, then reads accepted and refused (130429) counts from the
ledger. Passes when accepted is within 10% of mps x duration; writes ``limiter_results.json``
beside this file. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent


async def start_sim(env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tucano_cloud_api_sim", env=env, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc, line.split("listening on ", 1)[1].split()[0]


async def run(args: argparse.Namespace, mps: int) -> dict[str, Any]:
    env = {**os.environ, "SIM_PORT": "0", "SIM_LOG_LEVEL": "WARNING", "SIM_PAIR_BURST": "100000"}
    env.pop("SIM_WEBHOOK_URL", None)
    env.pop("SIM_THROUGHPUT_BURST_S", None)
    proc, base = await start_sim(env)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/_sim/phone_numbers", json={"mps": mps}) as resp:
                number = await resp.json()
            url = f"{base}/v24.0/{number['phone_number_id']}/messages"
            headers = {"Authorization": f"Bearer {number['access_token']}"}
            counter = 0
            client_counts: dict[int, int] = {}

            async def worker(deadline: float) -> None:
                nonlocal counter
                while time.monotonic() < deadline:
                    counter += 1
                    body = {
                        "messaging_product": "whatsapp",
                        "to": f"5511{counter:09d}",
                        "type": "template",
                        "template": {"name": "hello_world", "language": {"code": "en_US"}},
                    }
                    async with http.post(url, json=body, headers=headers) as resp:
                        await resp.read()
                        client_counts[resp.status] = client_counts.get(resp.status, 0) + 1

            started = time.monotonic()
            await asyncio.gather(*(worker(started + args.seconds) for _ in range(args.concurrency)))
            duration = time.monotonic() - started
            async with http.get(f"{base}/_sim/ledger", params={"rows": "false"}) as resp:
                ledger = await resp.json()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    accepted = ledger["total"]
    refused = ledger["rejected"].get("130429", 0)
    limit = mps * duration
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mps": mps,
        "throughput_burst_s": 0.5,
        "duration_s": round(duration, 3),
        "offered": accepted + refused,
        "accepted": accepted,
        "refused_130429": refused,
        "client_http_statuses": {str(k): v for k, v in sorted(client_counts.items())},
        "accepted_over_limit": round(accepted / limit, 4),
        "within_10_percent": 0.9 * limit <= accepted <= 1.1 * limit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--mps", type=int, nargs="+", default=[80, 1000])
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--out", type=Path, default=HERE / "limiter_results.json")
    args = parser.parse_args()
    results = []
    for mps in args.mps:
        result = asyncio.run(run(args, mps))
        results.append(result)
        print(
            f"{result['accepted']} accepted / {result['offered']} offered in "
            f"{result['duration_s']} s at {mps} mps (ratio {result['accepted_over_limit']}); "
            f"130429: {result['refused_130429']}; within 10%: {result['within_10_percent']}"
        )
    args.out.write_text(
        json.dumps({"benchmark": "cloud_api_sim.bench_limiter", "runs": results}, indent=2) + "\n"
    )
    if not all(r["within_10_percent"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
