"""Per-number throughput over HTTP: 130429 beyond the limit, accepted count within 10% of it.

Counts come from the ledger; nothing here asserts how fast the machine is. The 10-second run
lives in bench/cloud_api_sim/bench_limiter.py; this one is shorter with a burst scaled to it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import MakeSim

MPS = 200
SECONDS = 2.5


async def test_throughput_limit_holds_within_10_percent(make_sim: MakeSim, hello_body: Any) -> None:
    # burst 0.15 s: at most MPS * (SECONDS + 0.15) can pass, inside the +10% bound
    sim = await make_sim(throughput_burst_s=0.15, pair_burst=1000, webhook_url="")
    limited = await sim.number(mps=MPS)
    other = await sim.number(mps=MPS)  # another number is not affected
    counter = 0
    codes: dict[int, int] = {}

    async def worker(deadline: float) -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            status, body = await sim.send(limited, hello_body(f"5511{counter:09d}"))
            code = 0 if status == 200 else body["error"]["code"]
            codes[code] = codes.get(code, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(worker(started + SECONDS) for _ in range(32)))
    duration = time.monotonic() - started  # >= SECONDS; the bound uses what actually ran

    assert (await sim.send(other, hello_body("5511999999999")))[0] == 200
    ledger = await sim.ledger(phone_number_id=limited["phone_number_id"], rows="false")
    accepted, refused = ledger["total"], ledger["rejected"].get("130429", 0)
    assert set(codes) <= {0, 130429}
    assert (accepted, refused) == (codes.get(0, 0), codes.get(130429, 0))
    assert refused > 0  # the load offered was above the limit
    assert MPS * duration * 0.9 <= accepted <= MPS * duration * 1.1, (accepted, duration)
