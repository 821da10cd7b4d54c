"""Contract tests: requests, responses and webhooks have the shapes of Meta's documented samples
(tests/fixtures/*.json): same keys, same value types, same fixed values."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import MakeReceiver, MakeSim, Receiver, Sim

Fixture = Callable[[str], Any]

ORDER_UPDATE = {
    "name": "order_update",
    "language": "pt_BR",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Olá {{1}}, você deve {{2}} desde {{3}}."},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Parar"},
                {"type": "URL", "text": "Senha", "url": "https://example.com{{1}}"},
            ],
        },
    ],
}


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list is described by its first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


async def contract_sim(make_sim: MakeSim, make_receiver: MakeReceiver) -> tuple[Sim, Receiver]:
    receiver = await make_receiver()
    # one status per POST and no BSUID-era contacts, to compare against single-status samples
    sim = await make_sim(webhook_url=receiver.url, batch_max=1, status_contacts=False)
    return sim, receiver


async def test_text_send_request_and_response(sim: Sim, meta_fixture: Fixture) -> None:
    number = await sim.number()
    status, body = await sim.send(number, meta_fixture("send_text_request.json"))
    assert status == 200
    assert shape(body) == shape(meta_fixture("send_response.json"))
    assert body["contacts"] == [{"input": "+16505555555", "wa_id": "16505555555"}]
    assert body["messages"][0]["id"].startswith("wamid.")
    assert body["messages"][0]["message_status"] == "accepted"


async def test_template_send_with_components(sim: Sim, meta_fixture: Fixture) -> None:
    number = await sim.number()
    status, created = await sim.call(
        "POST", "/_sim/templates", json_body={**ORDER_UPDATE, "waba_id": number["waba_id"]}
    )
    assert status == 201, created
    status, body = await sim.send(number, meta_fixture("send_template_request.json"))
    assert status == 200, body
    assert shape(body) == shape(meta_fixture("send_response.json"))


async def test_error_envelope_130429(sim: Sim, meta_fixture: Fixture, hello_body: Any) -> None:
    number = await sim.number()
    await sim.call(
        "POST",
        "/_sim/force",
        json_body={"recipient": "16505551234", "outcome": "error", "code": 130429},
    )
    status, body = await sim.send(number, hello_body("+16505551234"))
    expected = meta_fixture("error_130429.json")
    assert status == 429
    assert shape(body) == shape(expected)
    fixed = ("message", "type", "code", "error_subcode", "error_data")
    assert {k: body["error"][k] for k in fixed} == {k: expected["error"][k] for k in fixed}


async def test_error_envelope_190(sim: Sim, meta_fixture: Fixture, hello_body: Any) -> None:
    number = await sim.number()
    status, body = await sim.send(number, hello_body("16505551234"), token="EAAwrong")
    expected = meta_fixture("error_190.json")
    assert status == 401
    assert shape(body) == shape(expected)
    assert body["error"]["message"] == expected["error"]["message"]
    assert body["error"]["type"] == "OAuthException" and body["error"]["code"] == 190


async def test_status_webhooks_match_meta_samples(
    make_sim: MakeSim, make_receiver: MakeReceiver, meta_fixture: Fixture
) -> None:
    sim, receiver = await contract_sim(make_sim, make_receiver)
    number = await sim.number()
    await sim.call(
        "POST",
        "/_sim/templates",
        json_body={
            "waba_id": number["waba_id"],
            "name": "promo",
            "language": "en_US",
            "category": "MARKETING",
        },
    )
    body = {
        "messaging_product": "whatsapp",
        "to": "16505551234",
        "type": "template",
        "template": {"name": "promo", "language": {"code": "en_US"}},
        "biz_opaque_callback_data": "campaign-42",
    }
    status, sent = await sim.send(number, body)
    assert status == 200
    await receiver.wait_for(lambda: len(receiver.accepted) == 3)
    by_status = {
        r.payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]: r.payload
        for r in receiver.accepted
    }
    assert set(by_status) == {"sent", "delivered", "read"}

    sent_sample = meta_fixture("webhook_status_sent.json")
    assert shape(by_status["sent"]) == shape(sent_sample)
    assert shape(by_status["read"]) == shape(meta_fixture("webhook_status_read.json"))
    entry = by_status["sent"]["entry"][0]
    value = entry["changes"][0]["value"]
    assert by_status["sent"]["object"] == "whatsapp_business_account"
    assert entry["id"] == number["waba_id"]
    assert entry["changes"][0]["field"] == "messages"
    assert value["metadata"] == {
        "display_phone_number": number["display_phone_number"],
        "phone_number_id": number["phone_number_id"],
    }
    status_item = value["statuses"][0]
    assert status_item["id"] == sent["messages"][0]["id"]
    assert status_item["recipient_id"] == "16505551234"
    assert status_item["biz_opaque_callback_data"] == "campaign-42"
    assert (
        status_item["pricing"]
        == sent_sample["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]
    )
    delivered = by_status["delivered"]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert "expiration_timestamp" not in delivered["conversation"]
    assert delivered["pricing"]["type"] == "regular"


async def test_failed_status_matches_meta_sample(
    make_sim: MakeSim, make_receiver: MakeReceiver, meta_fixture: Fixture
) -> None:
    sim, receiver = await contract_sim(make_sim, make_receiver)
    number = await sim.number()
    # free-form text with no customer-service window open: accepted, then failed with 131047
    status, _ = await sim.send(number, meta_fixture("send_text_request.json"))
    assert status == 200
    await receiver.wait_for(lambda: len(receiver.accepted) == 1)
    payload = receiver.accepted[0].payload
    expected = meta_fixture("webhook_status_failed.json")
    assert shape(payload) == shape(expected)
    error = payload["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    assert error == expected["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]


async def test_inbound_message_matches_meta_sample(
    make_sim: MakeSim, make_receiver: MakeReceiver, meta_fixture: Fixture
) -> None:
    sim, receiver = await contract_sim(make_sim, make_receiver)
    number = await sim.number()
    status, created = await sim.call(
        "POST",
        "/_sim/inbound",
        json_body={
            "from": "16315551181",
            "phone_number_id": number["phone_number_id"],
            "text": "this is a text message",
            "name": "test user name",
        },
    )
    assert status == 202
    await receiver.wait_for(lambda: len(receiver.accepted) == 1)
    payload = receiver.accepted[0].payload
    expected = meta_fixture("webhook_inbound_text.json")
    assert shape(payload) == shape(expected)
    value = payload["entry"][0]["changes"][0]["value"]
    sample_value = expected["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == sample_value["contacts"]
    message = value["messages"][0]
    assert message["id"] == created["message_id"]
    assert {k: message[k] for k in ("from", "type", "text")} == {
        k: sample_value["messages"][0][k] for k in ("from", "type", "text")
    }


async def test_template_status_webhook_matches_meta_sample(
    make_sim: MakeSim, make_receiver: MakeReceiver, meta_fixture: Fixture
) -> None:
    sim, receiver = await contract_sim(make_sim, make_receiver)
    number = await sim.number()
    _, created = await sim.call(
        "POST",
        "/_sim/templates",
        json_body={
            "waba_id": number["waba_id"],
            "name": "order_confirmation",
            "language": "en_US",
            "category": "UTILITY",
            "status": "PENDING",
        },
    )
    status, _ = await sim.call(
        "PATCH", f"/_sim/templates/{created['id']}", json_body={"status": "APPROVED"}
    )
    assert status == 200
    await receiver.wait_for(lambda: len(receiver.accepted) == 1)
    payload = receiver.accepted[0].payload
    expected = meta_fixture("webhook_template_status.json")
    assert shape(payload) == shape(expected)
    value = payload["entry"][0]["changes"][0]["value"]
    assert value == {
        **expected["entry"][0]["changes"][0]["value"],
        "message_template_id": int(created["id"]),
    }
    assert payload["entry"][0]["id"] == number["waba_id"]


async def test_phone_number_and_template_list_shapes(sim: Sim, meta_fixture: Fixture) -> None:
    number = await sim.number(verified_name="Jasper's Market")
    token = number["access_token"]
    status, info = await sim.call("GET", f"/v24.0/{number['phone_number_id']}", token=token)
    assert status == 200
    assert shape(info) == shape(meta_fixture("phone_number.json"))
    assert info["verified_name"] == "Jasper's Market"
    assert info["throughput"] == {"level": "STANDARD"}

    await sim.call(
        "POST", "/_sim/templates", json_body={**ORDER_UPDATE, "waba_id": number["waba_id"]}
    )
    status, page = await sim.call(
        "GET", f"/v24.0/{number['waba_id']}/message_templates", token=token, params={"limit": "1"}
    )
    assert status == 200
    expected = meta_fixture("message_templates_page.json")
    assert shape(page) == shape(expected)
    assert page["data"][0] == expected["data"][0] | {"id": page["data"][0]["id"]}


async def test_status_contacts_carry_wa_id_without_profile(
    sim: Sim, receiver: Receiver, hello_body: Any
) -> None:
    number = await sim.number()
    await sim.send(number, hello_body("16505551234"))
    await receiver.wait_for(lambda: len(receiver.statuses()) == 3)
    value = receiver.accepted[0].payload["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"wa_id": "16505551234"}]
