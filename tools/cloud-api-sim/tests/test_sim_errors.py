"""Synchronous outcomes of POST /messages over HTTP: Meta's codes and HTTP statuses."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import MakeSim, Sim


async def force(sim: Sim, recipient: str, outcome: str, **kw: Any) -> None:
    status, body = await sim.call(
        "POST", "/_sim/force", json_body={"recipient": recipient, "outcome": outcome, **kw}
    )
    assert status == 200, body


async def add_template(sim: Sim, number: dict[str, Any], **body: Any) -> dict[str, Any]:
    defaults = {"waba_id": number["waba_id"], "language": "en_US", "category": "MARKETING"}
    status, created = await sim.call("POST", "/_sim/templates", json_body={**defaults, **body})
    assert status == 201, created
    return created  # type: ignore[no-any-return]


def template_body(to: str, name: str, lang: str = "en_US", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": lang}, **extra},
    }


async def test_wrong_token_is_190_and_sends_nothing(sim: Sim, hello_body: Any) -> None:
    number, other = await sim.number(), await sim.number()
    async with sim.http.post(
        f"{sim.url}/v24.0/{number['phone_number_id']}/messages",
        json=hello_body("5511999990000"),
        headers={"Authorization": f"Bearer {other['access_token']}"},
    ) as resp:
        body = await resp.json()
        assert resp.status == 401
        assert "invalid_token" in resp.headers["WWW-Authenticate"]
    assert body["error"]["code"] == 190
    status, body = await sim.call(  # no Authorization header at all
        "POST", f"/v24.0/{number['phone_number_id']}/messages", json_body=hello_body("551199")
    )
    assert status == 401 and body["error"]["code"] == 190
    assert (await sim.ledger())["total"] == 0


async def test_unknown_phone_number_is_graph_100(sim: Sim, hello_body: Any) -> None:
    number = await sim.number()
    status, body = await sim.call(
        "POST",
        "/v24.0/999999/messages",
        json_body=hello_body("5511999990000"),
        token=number["access_token"],
    )
    assert status == 400
    assert body["error"]["code"] == 100 and body["error"]["error_subcode"] == 33
    assert body["error"]["type"] == "GraphMethodException"


@pytest.mark.parametrize(
    ("template_status", "code", "http_status"),
    [
        ("PAUSED", 132015, 400),
        ("DISABLED", 132016, 400),
        ("PENDING", 132001, 404),
        ("REJECTED", 132001, 404),
    ],
)
async def test_template_status_codes(
    sim: Sim, template_status: str, code: int, http_status: int
) -> None:
    number = await sim.number()
    await add_template(sim, number, name="promo", status=template_status)
    status, body = await sim.send(number, template_body("5511999990000", "promo"))
    assert (status, body["error"]["code"]) == (http_status, code)


async def test_unknown_template_or_language_is_132001(sim: Sim) -> None:
    number = await sim.number()
    for name, lang in [("nope", "en_US"), ("hello_world", "pt_BR")]:
        status, body = await sim.send(number, template_body("5511999990000", name, lang))
        assert (status, body["error"]["code"]) == (404, 132001)


async def test_paused_then_approved_template_sends_again(sim: Sim) -> None:
    number = await sim.number()
    created = await add_template(sim, number, name="promo")
    await sim.call("PATCH", f"/_sim/templates/{created['id']}", json_body={"status": "PAUSED"})
    status, _ = await sim.send(number, template_body("5511999990000", "promo"))
    assert status == 400
    await sim.call("PATCH", f"/_sim/templates/{created['id']}", json_body={"status": "APPROVED"})
    status, _ = await sim.send(number, template_body("5511999990000", "promo"))
    assert status == 200


async def test_wrong_parameter_count_is_132000(sim: Sim) -> None:
    number = await sim.number()
    await add_template(
        sim,
        number,
        name="otp",
        category="UTILITY",
        components=[{"type": "BODY", "text": "Code {{1}} for {{2}}"}],
    )
    one = [{"type": "body", "parameters": [{"type": "text", "text": "1234"}]}]
    status, body = await sim.send(number, template_body("5511999990000", "otp", components=one))
    assert (status, body["error"]["code"]) == (400, 132000)
    assert "localizable_params (1)" in body["error"]["error_data"]["details"]
    two = [{"type": "body", "parameters": [{"type": "text", "text": "1234"}] * 2}]
    status, _ = await sim.send(number, template_body("5511999990000", "otp", components=two))
    assert status == 200


async def test_invalid_recipient_is_131026(sim: Sim, hello_body: Any) -> None:
    number = await sim.number()
    status, body = await sim.send(number, hello_body("not-a-number"))
    assert (status, body["error"]["code"]) == (400, 131026)


async def test_recipient_cannot_be_sender(sim: Sim, hello_body: Any) -> None:
    number = await sim.number()
    status, body = await sim.send(number, hello_body(number["display_phone_number"]))
    assert (status, body["error"]["code"]) == (400, 131021)


async def test_bad_requests_are_100_or_131051(sim: Sim, hello_body: Any) -> None:
    number = await sim.number()
    body = hello_body("5511999990000")
    del body["messaging_product"]
    status, error = await sim.send(number, body)
    assert (status, error["error"]["code"]) == (400, 100)
    image = {"messaging_product": "whatsapp", "to": "5511999990000", "type": "image"}
    status, error = await sim.send(number, image)
    assert (status, error["error"]["code"]) == (400, 131051)
    async with sim.http.post(
        f"{sim.url}/v24.0/{number['phone_number_id']}/messages",
        data=b"{not json",
        headers={"Authorization": f"Bearer {number['access_token']}"},
    ) as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == 100


async def test_pair_rate_limit_is_131056_for_that_recipient_only(
    make_sim: MakeSim, hello_body: Any
) -> None:
    sim = await make_sim(pair_burst=2, pair_window_s=600)
    number = await sim.number()
    codes = [(await sim.send(number, hello_body("5511999990001")))[0] for _ in range(3)]
    assert codes == [200, 200, 400]
    status, body = await sim.send(number, hello_body("5511999990001"))
    assert (status, body["error"]["code"]) == (400, 131056)
    assert (await sim.send(number, hello_body("5511999990002")))[0] == 200
    ledger = await sim.ledger()
    assert ledger["total"] == 3 and ledger["rejected"] == {"131056": 2}


async def test_injected_transient_errors(make_sim: MakeSim, hello_body: Any) -> None:
    sim = await make_sim(error_rate=1.0)
    number = await sim.number()
    status, body = await sim.send(number, hello_body("5511999990000"))
    assert (status, body["error"]["code"]) == (500, 131000)
    # a forced "accept" is exempt from injection
    await force(sim, "5511999990001", "accept")
    assert (await sim.send(number, hello_body("5511999990001")))[0] == 200

    sim = await make_sim(unavailable_rate=1.0)
    number = await sim.number()
    status, body = await sim.send(number, hello_body("5511999990000"))
    assert (status, body["error"]["code"]) == (503, 131016)


async def test_injected_error_share_follows_the_rate(make_sim: MakeSim, hello_body: Any) -> None:
    sim = await make_sim(error_rate=0.3, default_mps=1000)
    number = await sim.number()
    statuses = [(await sim.send(number, hello_body(f"55119{i:08d}")))[0] for i in range(300)]
    failures = statuses.count(500)
    assert 45 <= failures <= 135  # 90 expected; seeded, so this is exact run to run
    assert statuses.count(200) == 300 - failures


async def test_forced_error_applies_times_then_clears(sim: Sim, hello_body: Any) -> None:
    number = await sim.number()
    await force(sim, "+55 11 99999-0000", "error", code=131000, times=1)
    status, body = await sim.send(number, hello_body("5511999990000"))
    assert (status, body["error"]["code"]) == (500, 131000)
    assert (await sim.send(number, hello_body("5511999990000")))[0] == 200
    _, forces = await sim.call("GET", "/_sim/force")
    assert forces == {"forces": {}}


async def test_forced_slow_response_is_accepted_before_the_client_gives_up(
    sim: Sim, hello_body: Any
) -> None:
    number = await sim.number()
    await force(sim, "5511999990000", "slow", seconds=1.0)
    with pytest.raises(asyncio.TimeoutError):
        async with sim.http.post(
            f"{sim.url}/v24.0/{number['phone_number_id']}/messages",
            json=hello_body("5511999990000"),
            headers={"Authorization": f"Bearer {number['access_token']}"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ) as resp:
            await resp.read()
    # the client saw a timeout, but Meta (and the simulator) had already accepted it
    ledger = await sim.ledger()
    assert ledger["total"] == 1 and ledger["rows"][0]["recipient"] == "5511999990000"


async def test_held_for_quality_assessment(make_sim: MakeSim, hello_body: Any) -> None:
    sim = await make_sim(held_rate=1.0)
    number = await sim.number()
    await add_template(sim, number, name="promo")
    _, body = await sim.send(number, template_body("5511999990000", "promo"))
    assert body["messages"][0]["message_status"] == "held_for_quality_assessment"
    _, body = await sim.send(number, hello_body("5511999990001"))  # utility: never held
    assert body["messages"][0]["message_status"] == "accepted"
    await force(sim, "5511999990002", "held")
    _, body = await sim.send(number, hello_body("5511999990002"))
    assert body["messages"][0]["message_status"] == "held_for_quality_assessment"
