"""The /_sim/ admin surface and the Graph read/management endpoints around it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yarl import URL

if TYPE_CHECKING:
    from conftest import MakeSim, Sim


async def test_health(sim: Sim) -> None:
    status, body = await sim.call("GET", "/_sim/health")
    assert status == 200 and body["status"] == "ok" and body["phone_numbers"] == 0


async def test_create_phone_number_starts_a_waba_with_hello_world(sim: Sim) -> None:
    number = await sim.number(mps=1000, display_phone_number="+1 555 010 0001")
    assert set(number) >= {"waba_id", "phone_number_id", "access_token", "display_phone_number"}
    assert number["display_phone_number"] == "15550100001" and number["mps"] == 1000
    status, page = await sim.call(
        "GET", f"/v24.0/{number['waba_id']}/message_templates", token=number["access_token"]
    )
    assert status == 200
    assert [(t["name"], t["language"], t["status"]) for t in page["data"]] == [
        ("hello_world", "en_US", "APPROVED")
    ]
    _, info = await sim.call(
        "GET",
        f"/v24.0/{number['phone_number_id']}",
        token=number["access_token"],
        params={"fields": "throughput,quality_rating"},
    )
    assert info == {
        "throughput": {"level": "HIGH"},
        "quality_rating": "GREEN",
        "id": number["phone_number_id"],
    }


async def test_explicit_ids_and_second_number_in_a_waba(sim: Sim) -> None:
    first = await sim.number(
        phone_number_id="106540352242922", access_token="EAAfixed", waba_id="102290129340398"
    )
    assert (first["phone_number_id"], first["access_token"], first["waba_id"]) == (
        "106540352242922",
        "EAAfixed",
        "102290129340398",
    )
    second = await sim.number(waba_id=first["waba_id"])
    assert second["waba_id"] == first["waba_id"]
    status, listing = await sim.call(
        "GET", f"/v24.0/{first['waba_id']}/phone_numbers", token=second["access_token"]
    )
    assert status == 200
    assert [n["id"] for n in listing["data"]] == [
        first["phone_number_id"],
        second["phone_number_id"],
    ]
    # one hello_world per WABA, not per number
    _, templates = await sim.call("GET", "/_sim/templates", params={"waba_id": first["waba_id"]})
    assert len(templates["data"]) == 1
    status, error = await sim.call(
        "POST", "/_sim/phone_numbers", json_body={"phone_number_id": "106540352242922"}
    )
    assert status == 400 and error["error"]["code"] == 100


async def test_invalid_admin_input_is_rejected(sim: Sim) -> None:
    for body in (
        {"mps": 0},
        {"mps": 1001},
        {"mps": "80"},
        {"quality_rating": "BLUE"},
        {"display_phone_number": "abc"},
    ):
        status, error = await sim.call("POST", "/_sim/phone_numbers", json_body=body)
        assert status == 400 and error["error"]["code"] == 100, body
    status, _ = await sim.call("POST", "/_sim/inbound", json_body={"from": "1"})
    assert status == 400
    status, _ = await sim.call(
        "POST", "/_sim/force", json_body={"recipient": "1", "outcome": "error"}
    )
    assert status == 400
    status, _ = await sim.call("POST", "/_sim/phone_numbers", data=b"[1, 2]")
    assert status == 400


async def test_update_phone_number_mps(sim: Sim) -> None:
    number = await sim.number()
    status, updated = await sim.call(
        "PATCH", f"/_sim/phone_numbers/{number['phone_number_id']}", json_body={"mps": 500}
    )
    assert status == 200 and updated["mps"] == 500
    _, info = await sim.call(
        "GET", f"/v24.0/{number['phone_number_id']}", token=number["access_token"]
    )
    assert info["throughput"] == {"level": "HIGH"}
    status, _ = await sim.call("PATCH", "/_sim/phone_numbers/123", json_body={"mps": 5})
    assert status == 400


async def test_template_paging_follows_next_links(sim: Sim) -> None:
    number = await sim.number()
    for i in range(4):
        await sim.call(
            "POST",
            "/_sim/templates",
            json_body={
                "waba_id": number["waba_id"],
                "name": f"t{i}",
                "language": "en_US",
                "category": "UTILITY",
            },
        )
    names: list[str] = []
    url: str | None = f"{sim.url}/v24.0/{number['waba_id']}/message_templates?limit=2"
    headers = {"Authorization": f"Bearer {number['access_token']}"}
    while url:
        async with sim.http.get(URL(url, encoded=True), headers=headers) as resp:
            page = await resp.json()
        names += [t["name"] for t in page["data"]]
        url = page["paging"].get("next")
    assert names == ["hello_world", "t0", "t1", "t2", "t3"]


async def test_graph_template_create_validates_and_rejects_duplicates(sim: Sim) -> None:
    number = await sim.number()
    path = f"/v24.0/{number['waba_id']}/message_templates"
    token = number["access_token"]
    body = {"name": "promo", "category": "MARKETING", "language": "en_US", "components": []}
    assert (await sim.call("POST", path, json_body=body, token=token))[0] == 200
    status, error = await sim.call("POST", path, json_body=body, token=token)
    assert status == 400 and error["error"]["error_subcode"] == 2388024
    status, error = await sim.call(
        "POST", path, json_body={**body, "name": "Bad Name"}, token=token
    )
    assert status == 400 and error["error"]["code"] == 100
    other = await sim.number()
    status, error = await sim.call("GET", path, token=other["access_token"])
    assert status == 403 and error["error"]["code"] == 200


async def test_config_can_be_read_and_changed_at_run_time(sim: Sim) -> None:
    status, config = await sim.call("GET", "/_sim/config")
    assert status == 200 and config["default_mps"] == 80
    status, config = await sim.call(
        "PATCH", "/_sim/config", json_body={"error_rate": 0.5, "batch_max": 3}
    )
    assert status == 200 and (config["error_rate"], config["batch_max"]) == (0.5, 3)
    status, error = await sim.call("PATCH", "/_sim/config", json_body={"error_rate": 2})
    assert status == 400 and "error_rate" in error["error"]["message"]
    status, error = await sim.call("PATCH", "/_sim/config", json_body={"port": 1})
    assert status == 400 and "start-up" in error["error"]["message"]


async def test_reset_forgets_everything(make_sim: MakeSim, hello_body: Any) -> None:
    sim = await make_sim(webhook_url="")
    number = await sim.number()
    await sim.send(number, hello_body("5511999990000"))
    await sim.call("PATCH", "/_sim/config", json_body={"error_rate": 1.0})
    await sim.call("POST", "/_sim/force", json_body={"recipient": "1234567", "outcome": "held"})
    status, _ = await sim.call("POST", "/_sim/reset")
    assert status == 200
    assert (await sim.ledger())["total"] == 0
    assert (await sim.call("GET", "/_sim/phone_numbers"))[1] == {"data": []}
    assert (await sim.call("GET", "/_sim/force"))[1] == {"forces": {}}
    assert (await sim.call("GET", "/_sim/config"))[1]["error_rate"] == 0.0
    status, _ = await sim.send(number, hello_body("5511999990000"))
    assert status == 401  # the old number and token are gone


async def test_force_list_and_clear(sim: Sim) -> None:
    await sim.call(
        "POST",
        "/_sim/force",
        json_body={"recipient": "+55 11 99999-0001", "outcome": "slow", "seconds": 3},
    )
    _, listing = await sim.call("GET", "/_sim/force")
    assert listing["forces"]["5511999990001"]["outcome"] == "slow"
    _, cleared = await sim.call("DELETE", "/_sim/force", params={"recipient": "5511999990001"})
    assert cleared == {"cleared": 1}


async def test_unknown_paths_and_methods(sim: Sim) -> None:
    status, body = await sim.call("GET", "/v24.0/123/unknown_edge")
    assert status == 400 and body["error"]["code"] == 2500
    status, _ = await sim.call("DELETE", "/_sim/ledger")
    assert status == 405
