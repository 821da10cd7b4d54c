"""Benchmark: template sends/s the Cloud API simulator accepts with status webhooks on.

    python bench/cloud_api_sim/bench_sends.py [--seconds 15] [--concurrency 64]

Starts the simulator as a subprocess (``python -m tucano_cloud_api_sim``) with webhooks
pointed at a sink in a child process that checks every signature and counts statuses, drives
the simulator with concurrent aiohttp clients for a bounded time, and writes
``results.json`` beside this file. CPU use of the simulator comes from /proc/<pid>/stat.
Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import platform
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop
from aiohttp import web
from yarl import URL

HERE = Path(__file__).resolve().parent
SECRET = "bench-app-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children) from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # after the ")" field 3 is state; utime=14, stime=15 in 1-based numbering overall
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLK_TCK


# --------------------------------------------------------------------------- webhook sink


def run_sink(port_queue: Any, stats_path: str) -> None:
    """Child process: answers 200 to valid signatures, counts statuses per type."""

    async def main() -> dict[str, int]:
        counts: dict[str, int] = {"posts": 0, "bad_signature": 0}
        stop = asyncio.Event()
        secret = SECRET.encode()

        async def hook(request: web.Request) -> web.Response:
            raw = await request.read()
            counts["posts"] += 1
            expected = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
                counts["bad_signature"] += 1
                return web.Response(status=401)
            for entry in orjson.loads(raw)["entry"]:
                for change in entry["changes"]:
                    for status in change["value"].get("statuses", ()):
                        key = status["status"]
                        counts[key] = counts.get(key, 0) + 1
            return web.Response(text="ok")

        async def dump(request: web.Request) -> web.Response:
            return web.json_response(counts)

        app = web.Application()
        app.router.add_post("/webhook", hook)
        app.router.add_get("/counts", dump)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()
        return counts

    counts = asyncio.run(main())
    Path(stats_path).write_text(json.dumps(counts))


# --------------------------------------------------------------------------- simulator


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


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()


# --------------------------------------------------------------------------- load


async def drive(
    base: str, numbers: list[dict[str, Any]], *, seconds: float, warmup: float, concurrency: int
) -> dict[str, Any]:
    window_start = time.monotonic() + warmup
    window_end = window_start + seconds
    accepted_in_window = 0
    other_statuses: dict[int, int] = {}
    latencies: list[float] = []
    counter = 0

    # The client shares the 2 cores with the simulator, so it skips what a load generator does
    # not need: cookies, decompression, per-request URL parsing and timeout timers (the run is
    # bounded by its deadline instead).
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
    ) as session:
        targets = [
            (
                URL(f"{base}/v24.0/{n['phone_number_id']}/messages"),
                {
                    "Authorization": f"Bearer {n['access_token']}",
                    "Content-Type": "application/json",
                },
            )
            for n in numbers
        ]

        async def worker(index: int) -> None:
            nonlocal accepted_in_window, counter
            url, headers = targets[index % len(targets)]
            while True:
                now = time.monotonic()
                if now >= window_end:
                    return
                counter += 1
                body = (
                    f'{{"messaging_product":"whatsapp","to":"55119{counter:08d}",'
                    '"type":"template",'
                    '"template":{"name":"hello_world","language":{"code":"en_US"}},'
                    f'"biz_opaque_callback_data":"bench-{counter}"}}'
                ).encode()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                done = time.monotonic()
                if window_start <= now and done <= window_end:
                    if status == 200:
                        accepted_in_window += 1
                        latencies.append(done - now)
                    else:
                        other_statuses[status] = other_statuses.get(status, 0) + 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "accepted_in_window": accepted_in_window,
        "non_200_in_window": other_statuses,
        "requests_total": counter,
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99)},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    port_queue = ctx.Queue()
    sink_stats = HERE / ".sink_stats.json"
    sink = ctx.Process(target=run_sink, args=(port_queue, str(sink_stats)), daemon=True)
    sink.start()
    sink_port = port_queue.get(timeout=30)
    env = {
        **os.environ,
        "SIM_PORT": "0",
        "SIM_LOG_LEVEL": "WARNING",
        "SIM_APP_SECRET": SECRET,
        "SIM_WEBHOOK_URL": "" if args.no_webhooks else f"http://127.0.0.1:{sink_port}/webhook",
        "SIM_WEBHOOK_BATCH_MAX": str(args.batch_max),
        "SIM_DEFAULT_MPS": "1000",
        "SIM_PAIR_BURST": "1000",
        "SIM_SEED": "7",
    }
    proc, base = await start_sim(env)
    try:
        async with aiohttp.ClientSession() as admin:
            numbers = []
            for _ in range(args.numbers):
                async with admin.post(f"{base}/_sim/phone_numbers", json={"mps": 1000}) as resp:
                    numbers.append(await resp.json())
            cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
            client0 = time.process_time()
            load = asyncio.create_task(
                drive(
                    base,
                    numbers,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    concurrency=args.concurrency,
                )
            )
            # sample the simulator's CPU exactly over the measured window
            await asyncio.sleep(args.warmup)
            cpu0, wall0, client0 = cpu_seconds(proc.pid), time.monotonic(), time.process_time()
            await asyncio.sleep(args.seconds)
            cpu1, wall1, client1 = cpu_seconds(proc.pid), time.monotonic(), time.process_time()
            result = await load
            async with admin.post(
                f"{base}/_sim/webhooks/wait_idle", params={"timeout_ms": "60000"}
            ) as resp:
                webhooks = await resp.json()
            async with admin.get(f"{base}/_sim/ledger", params={"rows": "false"}) as resp:
                ledger = await resp.json()
    finally:
        await stop_process(proc)
        if sink.pid is not None:
            os.kill(sink.pid, signal.SIGTERM)
        sink.join(timeout=15)
    sink_counts = json.loads(sink_stats.read_text())
    sink_stats.unlink()
    wall = wall1 - wall0
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "seconds": args.seconds,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "phone_numbers": args.numbers,
            "mps_per_number": 1000,
            "webhooks": "off"
            if args.no_webhooks
            else "on (sink in a child process verifying every signature)",
            "webhook_batch_max": args.batch_max,
            "statuses_per_send": "sent, delivered, read",
        },
        "sends_per_s": round(result["accepted_in_window"] / args.seconds, 1),
        "sim_cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / wall, 1),
        "sim_cpu_us_per_send": round(1e6 * (cpu1 - cpu0) / max(1, result["accepted_in_window"])),
        "client_cpu_percent_of_one_core": round(100 * (client1 - client0) / wall, 1),
        "latency_ms": result["latency_ms"],
        "non_200_in_window": result["non_200_in_window"],
        "ledger_total": ledger["total"],
        "ledger_duplicate_sends": ledger["duplicate_sends"],
        "requests_total": result["requests_total"],
        "webhooks": {
            "drained": webhooks["idle"],
            "events_delivered": webhooks["stats"].get("events_delivered", 0),
            "posts_ok": webhooks["stats"].get("posts_ok", 0),
            "posts_failed": webhooks["stats"].get("posts_failed", 0),
            "sink_counts": sink_counts,
        },
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The machine is shared, so one run says little: keep every run, headline the best and
    the median, and the simulator's CPU per send, which moves less with the load around it."""
    rates = sorted(r["sends_per_s"] for r in runs)
    cpu_us = sorted(r["sim_cpu_us_per_send"] for r in runs)
    best = max(runs, key=lambda r: r["sends_per_s"])
    return {
        "benchmark": "cloud_api_sim.bench_sends",
        "what": "template sends/s accepted by the simulator with status webhooks on, and the "
        "simulator process's CPU, on a shared 2-core machine",
        "sends_per_s_best": best["sends_per_s"],
        "sends_per_s_median": statistics.median(rates),
        "sends_per_s_all": [r["sends_per_s"] for r in runs],
        "sim_cpu_percent_of_one_core_at_best": best["sim_cpu_percent_of_one_core"],
        "sim_cpu_us_per_send_median": statistics.median(cpu_us),
        "sim_capacity_sends_per_s_per_core": round(1e6 / statistics.median(cpu_us)),
        "target_sends_per_s": 3000,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3, help="independent runs, fresh sim each")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--numbers", type=int, default=10)
    parser.add_argument("--batch-max", type=int, default=50, help="the simulator's default")
    parser.add_argument("--no-webhooks", action="store_true", help="diagnostics only")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        result = uvloop.run(run(args))
        runs.append(result)
        print(
            f"accepted {result['sends_per_s']} sends/s (webhooks "
            f"{'off' if args.no_webhooks else 'on'}); simulator CPU "
            f"{result['sim_cpu_percent_of_one_core']}% of one core "
            f"({result['sim_cpu_us_per_send']} us/send); client CPU "
            f"{result['client_cpu_percent_of_one_core']}%; p50 {result['latency_ms']['p50']} ms, "
            f"p99 {result['latency_ms']['p99']} ms; webhook events delivered "
            f"{result['webhooks']['events_delivered']}"
        )
    summary = summarise(runs)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"best {summary['sends_per_s_best']} sends/s, median {summary['sends_per_s_median']}; "
        f"simulator {summary['sim_cpu_us_per_send_median']} us CPU/send "
        f"(~{summary['sim_capacity_sends_per_s_per_core']} sends/s per core) -> {args.out}"
    )


if __name__ == "__main__":
    main()
