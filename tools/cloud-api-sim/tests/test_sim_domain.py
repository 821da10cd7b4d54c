"""Domain logic without I/O: limiters on a fake clock, templates, plans, pricing, ledger, wire."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from tucano_cloud_api_sim.engine import Simulator, normalize_recipient
from tucano_cloud_api_sim.errors import GraphError
from tucano_cloud_api_sim.ledger import Ledger
from tucano_cloud_api_sim.management import create_phone_number, create_template
from tucano_cloud_api_sim.outcomes import Force, ForceRegistry, plan_statuses, pricing
from tucano_cloud_api_sim.payloads import Channel, WebhookEvent, build_payload, meta_dumps
from tucano_cloud_api_sim.ratelimit import PairLimiter, ThroughputLimiter, TokenBucket
from tucano_cloud_api_sim.settings import Settings
from tucano_cloud_api_sim.templates import (
    TemplateRegistry,
    expected_parameters,
    validate_components,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def offer(
    limiter: ThroughputLimiter, clock: FakeClock, mps: int, offered_mps: int, secs: float
) -> tuple[int, int]:
    """Offer ``offered_mps`` evenly for ``secs`` on the fake clock; count (accepted, refused)."""
    accepted = refused = 0
    step = 1.0 / offered_mps
    for _ in range(int(secs * offered_mps)):
        if limiter.try_acquire("pn", mps, clock.now):
            accepted += 1
        else:
            refused += 1
        clock.now += step
    return accepted, refused


# --------------------------------------------------------------------------- limiters


def test_token_bucket_refills_to_capacity_only() -> None:
    bucket = TokenBucket(rate=10, capacity=2, now=0.0)
    assert bucket.try_take(0.0) and bucket.try_take(0.0)
    assert not bucket.try_take(0.0)
    assert bucket.try_take(0.1)  # one token after 100 ms at 10/s
    assert not bucket.try_take(0.1)
    assert bucket.is_full(100.0)  # long idle never exceeds capacity
    assert bucket.tokens == 2


@pytest.mark.parametrize("mps", [80, 1000])
def test_throughput_limit_holds_within_10_percent_over_10_seconds(mps: int) -> None:
    clock = FakeClock()
    limiter = ThroughputLimiter(burst_s=0.5)  # the default burst
    accepted, refused = offer(limiter, clock, mps, offered_mps=3 * mps, secs=10.0)
    limit = mps * 10.0
    assert 0.9 * limit <= accepted <= 1.1 * limit
    assert refused == 30 * mps - accepted


def test_throughput_under_the_limit_is_never_refused() -> None:
    clock = FakeClock()
    limiter = ThroughputLimiter(burst_s=0.5)
    accepted, refused = offer(limiter, clock, 80, offered_mps=79, secs=10.0)
    assert refused == 0 and accepted == 790


def test_throughput_limit_follows_an_mps_change() -> None:
    clock = FakeClock()
    limiter = ThroughputLimiter(burst_s=0.1)
    offer(limiter, clock, 80, offered_mps=200, secs=2.0)
    accepted, _ = offer(limiter, clock, 1000, offered_mps=2000, secs=5.0)
    assert 0.9 * 5000 <= accepted <= 1.1 * 5000


def test_pair_limiter_allows_burst_then_one_per_window() -> None:
    pairs = PairLimiter(window_s=6.0, burst=3)
    assert all(pairs.try_acquire("pn", "u1", 0.0) for _ in range(3))
    assert not pairs.try_acquire("pn", "u1", 0.0)
    assert pairs.try_acquire("pn", "u2", 0.0)  # other recipients are unaffected
    assert pairs.try_acquire("pn2", "u1", 0.0)  # and so are other business numbers
    assert not pairs.try_acquire("pn", "u1", 5.9)
    assert pairs.try_acquire("pn", "u1", 6.01)


def test_pair_limiter_prunes_idle_buckets() -> None:
    pairs = PairLimiter(window_s=0.001, burst=1)
    pairs._PRUNE_MIN = 10
    pairs._prune_at = 10
    for i in range(25):
        assert pairs.try_acquire("pn", f"u{i}", float(i))
    assert len(pairs) < 25


# --------------------------------------------------------------------------- templates

COMPONENTS: list[dict[str, Any]] = [
    {"type": "HEADER", "format": "IMAGE"},
    {"type": "BODY", "text": "Hi {{1}}, you owe {{2}} since {{3}}. Bye {{1}}."},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "URL", "text": "Reset", "url": "https://example.com{{1}}"},
        ],
    },
]


def make_template(components: list[dict[str, Any]], fmt: str = "POSITIONAL") -> Any:
    return TemplateRegistry().add(
        template_id="1",
        waba_id="w",
        name="order_update",
        language="pt_BR",
        category="UTILITY",
        status="APPROVED",
        components=components,
        parameter_format=fmt,
    )


def test_expected_parameters_counts_distinct_placeholders_media_and_url_buttons() -> None:
    slots = expected_parameters(COMPONENTS).slots
    assert slots == {"header": ["image"], "body": ["1", "2", "3"], "button:1": ["url"]}


def test_template_fixture_parameters_validate(meta_fixture: Any) -> None:
    template = make_template(COMPONENTS)
    validate_components(
        template, meta_fixture("send_template_request.json")["template"]["components"]
    )


@pytest.mark.parametrize(
    "components",
    [
        [{"type": "body", "parameters": [{"type": "text", "text": "a"}]}],
        [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "x"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "a"}] * 4},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text"}]},
        ],
        [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "x"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "a"}] * 3},
        ],
        None,
    ],
)
def test_wrong_parameter_count_is_132000(components: Any) -> None:
    with pytest.raises(GraphError) as err:
        validate_components(make_template(COMPONENTS), components)
    assert err.value.code == 132000


def test_named_parameters_must_match_names() -> None:
    template = make_template([{"type": "BODY", "text": "Hi {{first_name}}"}], fmt="NAMED")
    ok = [{"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name"}]}]
    validate_components(template, ok)
    bad = [{"type": "body", "parameters": [{"type": "text", "parameter_name": "name"}]}]
    with pytest.raises(GraphError) as err:
        validate_components(template, bad)
    assert err.value.code == 132000


def test_template_paging_walks_every_template_once() -> None:
    registry = TemplateRegistry()
    for i in range(7):
        registry.add(
            template_id=str(i),
            waba_id="w",
            name=f"t{i}",
            language="en_US",
            category="MARKETING",
            status="APPROVED",
            components=[],
        )
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        items, cursors, has_next, _ = registry.page(
            "w", limit=3, after=after, before=None, filters={}
        )
        seen += [t.name for t in items]
        pages += 1
        if not has_next:
            break
        after = cursors["after"]
    assert seen == [f"t{i}" for i in range(7)] and pages == 3
    back, _, _, has_previous = registry.page(
        "w", limit=3, after=None, before=cursors["before"], filters={}
    )
    assert [t.name for t in back] == ["t3", "t4", "t5"] and has_previous
    with pytest.raises(GraphError):
        registry.page("w", limit=3, after="not-a-cursor", before=None, filters={})


# --------------------------------------------------------------------------- outcomes


def test_plan_is_sent_delivered_read_with_pricing_on_sent_and_delivered() -> None:
    plan = plan_statuses(random.Random(1), Settings(), None)
    assert [(p.status, p.with_pricing) for p in plan] == [
        ("sent", True),
        ("delivered", True),
        ("read", False),
    ]
    assert [p.deliver_after for p in plan] == sorted(p.deliver_after for p in plan)


def test_plan_read_without_delivered_carries_pricing() -> None:
    plan = plan_statuses(random.Random(1), Settings(skip_delivered_rate=1.0), None)
    assert [(p.status, p.with_pricing) for p in plan] == [("sent", True), ("read", True)]


def test_plan_out_of_order_swaps_delivery_not_timestamps() -> None:
    plan = plan_statuses(random.Random(1), Settings(out_of_order_rate=1.0), None)
    sent, delivered = plan[0], plan[1]
    assert delivered.deliver_after < sent.deliver_after
    assert sent.happened_after < delivered.happened_after


def test_plan_failure_is_alone_and_unpriced() -> None:
    plan = plan_statuses(random.Random(1), Settings(), 131026)
    assert [(p.status, p.with_pricing) for p in plan] == [("failed", False)]


def test_pricing_types() -> None:
    assert pricing("marketing", True)["type"] == "regular"
    assert pricing("utility", True) == {
        "billable": False,
        "pricing_model": "PMP",
        "category": "utility",
        "type": "free_customer_service",
    }
    assert pricing("utility", False)["billable"] is True
    assert pricing("service", True)["type"] == "free_customer_service"


def test_force_registry_counts_down_and_scopes_by_number() -> None:
    forces = ForceRegistry()
    forces.set("551199", Force("error", 131026, remaining=2, phone_number_id="pn1"))
    assert forces.take("551199", "pn2") is None
    assert forces.take("551199", "pn1") is not None
    assert forces.take("551199", "pn1") is not None
    assert forces.take("551199", "pn1") is None


@pytest.mark.parametrize(
    ("raw", "wa_id"),
    [("+55 (11) 99999-0000", "5511999990000"), ("16505555555", "16505555555"), ("abc", None)],
)
def test_normalize_recipient(raw: str, wa_id: str | None) -> None:
    assert normalize_recipient(raw) == wa_id


# --------------------------------------------------------------------------- ledger


def test_ledger_counts_duplicates_per_number_recipient_and_opaque() -> None:
    ledger = Ledger()
    for i, (pn, rec, opaque) in enumerate(
        [("a", "1", "x"), ("a", "1", "x"), ("a", "1", "y"), ("b", "1", "x"), ("a", "2", None)]
    ):
        ledger.record(
            f"m{i}",
            pn,
            "w",
            rec,
            rec,
            "text",
            None,
            None,
            "service",
            opaque,
            "accepted",
            "read",
            float(i),
        )
    ledger.reject("a", 130429)
    summary = ledger.summary()
    assert summary["total"] == 5 and summary["unique_message_ids"] == 5
    assert summary["duplicate_groups"] == 1 and summary["duplicate_sends"] == 1
    assert summary["duplicates"][0]["biz_opaque_callback_data"] == "x"
    assert summary["rejected"] == {"130429": 1}
    only_b = ledger.summary(phone_number_id="b")
    assert only_b["total"] == 1 and only_b["rejected_total"] == 0


# --------------------------------------------------------------------------- wire format


def test_meta_dumps_escapes_like_meta() -> None:
    body = meta_dumps({"t": "Olá/ação@x <ok>", "n": 1})
    assert body == b'{"t":"Ol\\u00e1\\/a\\u00e7\\u00e3o\\u0040x <ok>","n":1}'
    assert json.loads(body) == {"t": "Olá/ação@x <ok>", "n": 1}


def test_meta_dumps_fast_path_matches_stdlib_encoder() -> None:
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(0, 128)]
    for _ in range(200):
        text = "".join(rng.choices(alphabet, k=40))
        payload = {"a": text, "b": [1, True, None, {"c": text[::-1]}]}
        expected = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
        expected = expected.replace("/", "\\/").replace("@", "\\u0040")
        assert meta_dumps(payload) == expected.encode()


def test_build_payload_groups_by_waba_and_number() -> None:
    channels = {
        pn: Channel("statuses", waba, pn, "1555")
        for waba, pn in [("w1", "p1"), ("w1", "p2"), ("w2", "p3")]
    }

    def ev(pn: str, sid: str) -> WebhookEvent:
        return (channels[pn], {"id": sid}, {"wa_id": "1"}, 0)

    payload = build_payload([ev("p1", "a"), ev("p2", "b"), ev("p3", "c"), ev("p1", "d")])
    entries = {e["id"]: e for e in payload["entry"]}
    assert set(entries) == {"w1", "w2"}
    changes = entries["w1"]["changes"]
    assert [[s["id"] for s in c["value"]["statuses"]] for c in changes] == [["a", "d"], ["b"]]
    assert changes[0]["value"]["contacts"] == [{"wa_id": "1"}]


# --------------------------------------------------------------------------- engine


def test_engine_send_records_and_emits_without_io() -> None:
    emitted: list[tuple[float, WebhookEvent]] = []
    sim = Simulator(Settings(seed=3), emitted.extend, lambda delay, cb: None)
    number = create_phone_number(sim, {})
    token = f"Bearer {number.access_token}"
    body = {
        "messaging_product": "whatsapp",
        "to": "5511999990000",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
        "biz_opaque_callback_data": "c1",
    }
    accepted = sim.send(number.id, token, body)
    wamid = accepted.response["messages"][0]["id"]
    assert [item["status"] for _, (_, item, _, _) in emitted] == ["sent", "delivered", "read"]
    assert all(
        item["id"] == wamid and channel.waba_id == number.waba_id
        for _, (channel, item, _, _) in emitted
    )
    assert sim.ledger.rows[0].message_id == wamid
    with pytest.raises(GraphError) as err:
        sim.send(number.id, "Bearer wrong", body)
    assert err.value.code == 190


def test_engine_is_deterministic_for_a_seed() -> None:
    def run() -> list[str]:
        sim = Simulator(Settings(seed=9, held_rate=0.5), lambda e: None, lambda d, c: None)
        number = create_phone_number(sim, {})
        create_template(
            sim,
            number.waba_id,
            {"name": "promo", "language": "en", "category": "MARKETING"},
            status="APPROVED",
        )
        body = {
            "messaging_product": "whatsapp",
            "type": "template",
            "template": {"name": "promo", "language": {"code": "en"}},
        }
        return [
            str(sim.send(number.id, f"Bearer {number.access_token}", {**body, "to": f"55{i:09d}"}))
            for i in range(20)
        ]

    first = run()
    assert first == run()
    assert any("held_for_quality_assessment" in r for r in first)
    assert any("'accepted'" in r for r in first)
