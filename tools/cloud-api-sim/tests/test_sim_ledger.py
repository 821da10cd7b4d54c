"""The ledger is exact under concurrency: every accepted send is one row, nothing else is."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import MakeReceiver, MakeSim


async def test_ledger_is_exact_under_concurrent_sends(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(webhook_url=receiver.url, default_mps=1000, pair_burst=1000)
    numbers = [await sim.number(), await sim.number()]
    # every 7th recipient is refused synchronously; opaque "dup" goes out twice on purpose
    for i in range(0, 600, 7):
        await sim.call(
            "POST",
            "/_sim/force",
            json_body={"recipient": f"5511{i:09d}", "outcome": "error", "code": 131000},
        )

    jobs = [(numbers[i % 2], f"5511{i:09d}", f"job-{i}") for i in range(600)]
    jobs += [(numbers[0], "5511000000001", "dup"), (numbers[0], "5511000000001", "dup")]
    queue: asyncio.Queue[tuple[dict[str, Any], str, str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    accepted: list[str] = []
    refused: Counter[int] = Counter()

    async def worker() -> None:
        while not queue.empty():
            number, to, opaque = queue.get_nowait()
            status, body = await sim.send(number, hello_body(to, opaque))
            if status == 200:
                accepted.append(body["messages"][0]["id"])
            else:
                refused[body["error"]["code"]] += 1

    await asyncio.gather(*(worker() for _ in range(40)))

    ledger = await sim.ledger(limit="100000")
    rows = ledger["rows"]
    assert refused == {131000: 86}
    assert ledger["total"] == len(accepted) == 602 - 86
    assert sorted(r["message_id"] for r in rows) == sorted(accepted)  # none lost, none extra
    assert ledger["unique_message_ids"] == ledger["total"]  # no doubled rows
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert ledger["rejected"] == {"131000": 86}
    assert ledger["duplicate_sends"] == 1
    assert ledger["duplicates"] == [
        {
            "phone_number_id": numbers[0]["phone_number_id"],
            "recipient": "5511000000001",
            "biz_opaque_callback_data": "dup",
            "count": 2,
        }
    ]
    by_number = ledger["by_phone_number_id"]
    assert sum(by_number.values()) == ledger["total"]
    only_second = await sim.ledger(phone_number_id=numbers[1]["phone_number_id"], rows="false")
    assert only_second["total"] == by_number[numbers[1]["phone_number_id"]]
    assert "rows" not in only_second

    # and every accepted message produced exactly one sent, delivered and read
    await sim.idle()
    statuses = Counter((s["id"], s["status"]) for s in receiver.statuses())
    assert set(statuses.values()) == {1}
    assert {wamid for wamid, _ in statuses} == set(accepted)
    assert len(statuses) == 3 * len(accepted)
