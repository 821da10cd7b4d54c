"""Status, inbound and template webhooks: order, signatures, retries, batching and chaos knobs."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import MakeReceiver, MakeSim, Receiver, Sim

Signer = Callable[[str, bytes], str]


def text_body(to: str, text: str = "oi") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": text}}


def keyed(statuses: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((s["id"], s["status"]) for s in statuses)


async def test_sent_delivered_read_in_order_and_signed(
    make_sim: MakeSim, receiver: Receiver, hello_body: Any, signer: Signer, secret: str
) -> None:
    # one POST at a time, so arrival order is the order the simulator sent them in
    sim = await make_sim(webhook_url=receiver.url, webhook_concurrency=1)
    number = await sim.number()
    _, body = await sim.send(number, hello_body("5511999990000", "camp-1"))
    wamid = body["messages"][0]["id"]
    await receiver.wait_for(lambda: len(receiver.statuses()) == 3)
    statuses = receiver.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["id"] == wamid and s["biz_opaque_callback_data"] == "camp-1" for s in statuses)
    assert [int(s["timestamp"]) for s in statuses] == sorted(int(s["timestamp"]) for s in statuses)
    for rec in receiver.received:
        assert rec.signature == signer(secret, rec.raw)


async def test_receiver_failing_n_times_gets_the_same_event_again(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver(fail_first=3)
    sim = await make_sim(webhook_url=receiver.url)
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000"))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 3)
    failed = [r for r in receiver.received if r.answered != 200]
    assert len(failed) == 3
    accepted_bodies = {r.raw: r.signature for r in receiver.accepted}
    for rec in failed:  # each refused POST came back later with the very same bytes
        assert accepted_bodies.get(rec.raw) == rec.signature
    assert sorted(s["status"] for s in receiver.statuses()) == ["delivered", "read", "sent"]
    stats = (await sim.idle())["stats"]
    assert stats["retries_scheduled"] == 3 and stats["events_delivered_after_retry"] >= 1


async def test_retries_back_off_and_give_up_after_max_attempts(
    make_sim: MakeSim, make_receiver: MakeReceiver
) -> None:
    receiver = await make_receiver(fail_first=10**6, fail_status=503)
    sim = await make_sim(webhook_url=receiver.url, max_attempts=4, retry_base_s=0.02)
    number = await sim.number()
    await sim.call(
        "POST",
        "/_sim/inbound",
        json_body={
            "from": "5511999990000",
            "phone_number_id": number["phone_number_id"],
            "text": "hi",
        },
    )
    stats = (await sim.idle())["stats"]
    assert len(receiver.received) == 4  # first try + 3 retries, then the event is dropped
    assert len({r.raw for r in receiver.received}) == 1
    assert stats["events_dropped_max_attempts"] == 1 and stats["retries_scheduled"] == 3


async def test_receiver_with_right_secret_accepts_every_delivery(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any, secret: str
) -> None:
    receiver = await make_receiver(secret=secret)
    sim = await make_sim(webhook_url=receiver.url, batch_max=5)
    number = await sim.number()
    for i in range(20):  # non-ASCII, '/' and '@' in the payload: signed over the exact bytes
        await sim.send(number, hello_body(f"55119999900{i:02d}", f"Olá/ação@{i} ✓"))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 60)
    await sim.idle()
    assert receiver.received and all(r.answered == 200 for r in receiver.received)
    assert sum(keyed(receiver.statuses()).values()) == 60


async def test_receiver_with_wrong_secret_accepts_none(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver(secret="not-the-app-secret")
    sim = await make_sim(webhook_url=receiver.url, max_attempts=2)
    number = await sim.number()
    for i in range(5):
        await sim.send(number, hello_body(f"55119999900{i:02d}"))
    stats = (await sim.idle())["stats"]
    assert receiver.received and all(r.answered == 403 for r in receiver.received)
    assert receiver.statuses() == []
    assert stats["events_dropped_max_attempts"] == 15 and stats.get("events_delivered", 0) == 0


async def test_reserialising_the_json_breaks_the_signature(
    sim: Sim, receiver: Receiver, hello_body: Any, signer: Signer, secret: str
) -> None:
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000", "Olá/ação@x"))
    await receiver.wait_for(lambda: len(receiver.accepted) >= 1)
    rec = receiver.accepted[0]
    assert b"Ol\\u00e1\\/a\\u00e7\\u00e3o\\u0040x" in rec.raw  # escaped as Meta does
    assert signer(secret, rec.raw) == rec.signature
    parsed = json.loads(rec.raw)
    for redone in (
        json.dumps(parsed).encode(),
        json.dumps(parsed, separators=(",", ":")).encode(),
        json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode(),
    ):
        assert signer(secret, redone) != rec.signature


async def test_batching_puts_several_statuses_in_one_post_each_once(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(
        webhook_url=receiver.url, batch_max=10, webhook_linger_s=0.05, default_mps=1000
    )
    number = await sim.number()
    await asyncio.gather(*(sim.send(number, hello_body(f"551199999{i:04d}")) for i in range(30)))
    await receiver.wait_for(lambda: len(receiver.statuses()) >= 90)
    await sim.idle()
    counts = keyed(receiver.statuses())
    assert len(counts) == 90 and set(counts.values()) == {1}
    sizes = [
        sum(len(c["value"]["statuses"]) for e in r.payload["entry"] for c in e["changes"])
        for r in receiver.received
    ]
    assert max(sizes) > 1 and max(sizes) <= 10


async def test_duplicate_deliveries(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(webhook_url=receiver.url, duplicate_rate=1.0)
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000"))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 6)
    await sim.idle()
    assert set(keyed(receiver.statuses()).values()) == {2}


async def test_out_of_order_delivered_before_sent(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(
        webhook_url=receiver.url,
        out_of_order_rate=1.0,
        batch_max=1,
        delivered_delay_s=0.1,
        webhook_concurrency=1,
    )
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000"))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 3)
    statuses = receiver.statuses()
    assert [s["status"] for s in statuses] == ["delivered", "sent", "read"]
    by = {s["status"]: int(s["timestamp"]) for s in statuses}
    assert by["sent"] <= by["delivered"] <= by["read"]


async def test_read_without_delivered_carries_pricing(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(webhook_url=receiver.url, skip_delivered_rate=1.0, webhook_concurrency=1)
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000"))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 2)
    sent, read = receiver.statuses()
    assert (sent["status"], read["status"]) == ("sent", "read")
    assert read["pricing"] == sent["pricing"]


async def test_forced_async_failure(sim: Sim, receiver: Receiver, hello_body: Any) -> None:
    number = await sim.number()
    await sim.call(
        "POST",
        "/_sim/force",
        json_body={"recipient": "5511999990000", "outcome": "fail", "code": 131049},
    )
    status, _ = await sim.send(number, hello_body("5511999990000", "c"))
    assert status == 200  # accepted, as Meta does, then failed asynchronously
    await receiver.wait_for(lambda: len(receiver.statuses()) == 1)
    await sim.idle()
    (failed,) = receiver.statuses()
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131049
    assert "pricing" not in failed and failed["biz_opaque_callback_data"] == "c"
    assert (await sim.ledger())["rows"][0]["outcome"] == "failed:131049"


async def test_unreachable_numbers_fail_with_131026(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(webhook_url=receiver.url, unreachable_prefix="999")
    number = await sim.number()
    assert (await sim.send(number, hello_body("99912345678")))[0] == 200
    await receiver.wait_for(lambda: len(receiver.statuses()) == 1)
    assert receiver.statuses()[0]["errors"][0]["code"] == 131026


async def test_inbound_stop_opens_the_service_window(
    sim: Sim, receiver: Receiver, hello_body: Any
) -> None:
    number = await sim.number()
    user = "5511988887777"
    await sim.send(number, text_body(user))  # no window yet: accepted, then failed 131047
    await receiver.wait_for(lambda: len(receiver.statuses()) == 1)
    assert receiver.statuses()[0]["errors"][0]["code"] == 131047

    status, _ = await sim.call(
        "POST",
        "/_sim/inbound",
        json_body={"from": user, "phone_number_id": number["phone_number_id"], "text": "STOP"},
    )
    assert status == 202

    def inbound() -> list[dict[str, Any]]:
        return [
            m
            for r in receiver.accepted
            for e in r.payload["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        ]

    await receiver.wait_for(lambda: len(inbound()) == 1)
    assert inbound()[0]["text"] == {"body": "STOP"} and inbound()[0]["from"] == user

    await sim.send(number, text_body(user, "Você saiu da lista."))
    await sim.send(number, hello_body(user))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 7)
    priced = [s["pricing"] for s in receiver.statuses() if s["status"] == "sent"]
    assert {(p["category"], p["type"], p["billable"]) for p in priced} == {
        ("service", "free_customer_service", False),
        ("utility", "free_customer_service", False),
    }


async def test_graph_created_template_is_approved_with_a_webhook(
    make_sim: MakeSim, make_receiver: MakeReceiver
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(webhook_url=receiver.url, template_review_s=0.05)
    number = await sim.number()
    status, created = await sim.call(
        "POST",
        f"/v24.0/{number['waba_id']}/message_templates",
        token=number["access_token"],
        json_body={
            "name": "promo_1",
            "category": "MARKETING",
            "language": "en_US",
            "components": [{"type": "BODY", "text": "Hi {{1}}"}],
        },
    )
    assert status == 200 and created["status"] == "PENDING"
    await receiver.wait_for(lambda: len(receiver.accepted) == 1)
    value = receiver.accepted[0].payload["entry"][0]["changes"][0]["value"]
    assert value["event"] == "APPROVED" and value["message_template_id"] == int(created["id"])
    _, page = await sim.call(
        "GET",
        f"/v24.0/{number['waba_id']}/message_templates",
        token=number["access_token"],
        params={"name": "promo_1"},
    )
    assert [t["status"] for t in page["data"]] == ["APPROVED"]


async def test_webhooks_off_discards_events(make_sim: MakeSim, hello_body: Any) -> None:
    sim = await make_sim(webhook_url="")
    number = await sim.number()
    assert (await sim.send(number, hello_body("5511999990000")))[0] == 200
    stats = (await sim.idle())["stats"]
    assert stats["events_discarded_no_url"] == 3 and "posts" not in stats


async def test_subscription_handshake(make_sim: MakeSim, receiver: Receiver) -> None:
    sim = await make_sim(webhook_url=receiver.url, verify_token="good-token")
    status, body = await sim.call("POST", "/_sim/webhooks/verify")
    assert status == 200 and body == {"verified": True, "status": 200}
    assert receiver.verify_requests[0]["hub.mode"] == "subscribe"
    await sim.call("PATCH", "/_sim/config", json_body={"verify_token": "bad-token"})
    _, body = await sim.call("POST", "/_sim/webhooks/verify")
    assert body == {"verified": False, "status": 403}


async def test_reset_drops_pending_events(
    make_sim: MakeSim, make_receiver: MakeReceiver, hello_body: Any
) -> None:
    receiver = await make_receiver()
    sim = await make_sim(webhook_url=receiver.url, sent_delay_s=30)
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000"))
    _, view = await sim.call("GET", "/_sim/webhooks")
    assert view["pending"] == 3
    await sim.call("POST", "/_sim/reset")
    stats = (await sim.idle())["stats"]
    assert stats["events_dropped_reset"] == 3 and receiver.received == []


async def test_click_to_whatsapp_entry_point_makes_messages_free(
    sim: Sim, receiver: Receiver, hello_body: Any
) -> None:
    number = await sim.number()
    user = "5511977776666"
    status, _ = await sim.call(
        "POST",
        "/_sim/inbound",
        json_body={
            "from": user,
            "phone_number_id": number["phone_number_id"],
            "text": "Oi, vi o anúncio",
            "entry_point": True,
        },
    )
    assert status == 202
    await sim.send(number, hello_body(user))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 3)
    inbound = [
        m
        for r in receiver.accepted
        for e in r.payload["entry"]
        for c in e["changes"]
        for m in c["value"].get("messages", [])
    ]
    assert inbound[0]["referral"]["source_type"] == "ad"
    sent = next(s for s in receiver.statuses() if s["status"] == "sent")
    assert sent["pricing"] == {
        "billable": False,
        "pricing_model": "PMP",
        "category": "referral_conversion",
        "type": "free_entry_point",
    }
    assert sent["conversation"]["origin"] == {"type": "referral_conversion"}


async def test_injected_slow_responses_are_still_accepted(
    make_sim: MakeSim, hello_body: Any
) -> None:
    sim = await make_sim(slow_rate=1.0, slow_s=1.0, webhook_url="")
    number = await sim.number()
    with pytest.raises(asyncio.TimeoutError):
        async with sim.http.post(
            f"{sim.url}/v24.0/{number['phone_number_id']}/messages",
            json=hello_body("5511999990000"),
            headers={"Authorization": f"Bearer {number['access_token']}"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ) as resp:
            await resp.read()
    assert (await sim.ledger())["total"] == 1
