"""Whole flows through the Envoy edge as a dashboard would drive them: REST in, JSON out,
errors as google.rpc.Status with their details."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
from tucano_kit.postgres.provision import dsn_for_database
from tucano_kit.testing import ADMIN_URL

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300),
              pytest.mark.needs_service("auth"), pytest.mark.needs_service("tenants")]

PASSWORD = "correct horse battery staple"
SIM_PORT = 18090  # the e2e stack's simulator (tests/e2e/conftest.py)


async def _admin_fetchval(database: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn_for_database(ADMIN_URL, database))
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def reason(body: dict[str, Any]) -> str | None:
    return next((d.get("reason") for d in body.get("details", [])
                 if d.get("@type", "").endswith("google.rpc.ErrorInfo")), None)


def violations(body: dict[str, Any]) -> set[str]:
    return {v["field"] for d in body.get("details", [])
            if d.get("@type", "").endswith("google.rpc.BadRequest")
            for v in d.get("field_violations", [])}


def signup(http: httpx.Client) -> dict[str, Any]:
    response = http.post("/v1/auth:signup", json={
        "email": f"e2e.{secrets.token_hex(4)}@example.com", "password": PASSWORD,
        "display_name": "Edge Tester", "tenant_name": "Edge Co"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def auth(tokens: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


def test_signup_login_refresh_and_reuse_through_the_edge(http: httpx.Client) -> None:
    signed = signup(http)
    assert signed["tokens"]["role"] == "owner" and signed["tokens"]["token_type"] == "Bearer"
    login = http.post("/v1/auth:login", json={"email": signed["user"]["email"],
                                              "password": PASSWORD})
    assert login.status_code == 200, login.text
    first = login.json()["tokens"]["refresh_token"]
    second = http.post("/v1/auth:refresh", json={"refresh_token": first})
    assert second.status_code == 200, second.text
    reused = error(http.post("/v1/auth:refresh", json={"refresh_token": first}), 401)
    assert reason(reused) == "REFRESH_TOKEN_REUSED"
    newest = second.json()["tokens"]["refresh_token"]
    assert reason(error(http.post("/v1/auth:refresh", json={"refresh_token": newest}),
                        401)) == "SESSION_REVOKED"
    me = http.get("/v1/me", headers=auth(signed["tokens"]))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == signed["user"]["email"]


def test_bad_signup_is_400_with_field_violations(http: httpx.Client) -> None:
    body = error(http.post("/v1/auth:signup", json={"email": "nope", "password": "short"}), 400)
    assert body["code"] == 3
    assert violations(body) == {"email", "password", "display_name", "tenant_name"}
    body = error(http.post("/v1/auth:login", content=b"",
                           headers={"content-type": "application/json"}), 400)
    assert violations(body) == {"email", "password"}
    # JSON that is not UTF-8 stops at the edge's transcoder, which says where (not which
    # field: over gRPC the service names it); either way nothing is created.
    email = f"utf8.{secrets.token_hex(4)}@example.com"
    body = error(http.post("/v1/auth:signup", headers={"content-type": "application/json"},
                           content=b'{"email":"' + email.encode() + b'","password":"correct'
                           b' horse battery staple","display_name":"\xc3(","tenant_name":"B"}'),
                 400)
    assert (body["code"], reason(body)) == (3, "INVALID_ARGUMENT")
    assert "UTF-8" in body["message"]
    assert reason(error(http.post("/v1/auth:login", json={
        "email": email, "password": "correct horse battery staple"}), 401)) == \
        "INVALID_CREDENTIALS"


@pytest.mark.needs_service("campaigns")
def test_contacts_through_the_edge_with_every_error_shape(http: httpx.Client) -> None:
    tokens = signup(http)["tokens"]
    created = http.post("/v1/contacts", headers=auth(tokens),
                        json={"phone_number": "+55 11 98765-4321", "display_name": "Ana",
                              "tags": ["VIP"]})
    assert created.status_code == 200, created.text
    contact = created.json()["contact"]
    assert contact["phone_number"] == "+5511987654321" and contact["tags"] == ["vip"]
    got = http.get(f"/v1/contacts/{contact['contact_id']}", headers=auth(tokens))
    assert got.json()["contact"] == contact
    listed = http.get("/v1/contacts", params={"page_size": 10}, headers=auth(tokens))
    assert [c["contact_id"] for c in listed.json()["contacts"]] == [contact["contact_id"]]
    taken = error(http.post("/v1/contacts", headers=auth(tokens),
                            json={"phone_number": "+5511987654321"}), 409)
    assert reason(taken) == "CONTACT_EXISTS"
    bad = error(http.post("/v1/contacts", headers=auth(tokens), json={"phone_number": "12"}), 400)
    assert violations(bad) == {"contact.phone_number"}
    missing = error(http.get(f"/v1/contacts/{uuid.uuid4()}", headers=auth(tokens)), 404)
    assert reason(missing) == "CONTACT_NOT_FOUND"
    assert reason(error(http.get("/v1/contacts"), 401)) == "UNAUTHENTICATED"


@pytest.mark.needs_service("campaigns")
def test_another_tenants_contact_is_404_and_a_forged_tenant_header_changes_nothing(
        http: httpx.Client) -> None:
    mine, theirs = signup(http)["tokens"], signup(http)["tokens"]
    contact = http.post("/v1/contacts", headers=auth(theirs),
                        json={"phone_number": "+16505550123"}).json()["contact"]
    forged = {**auth(mine), "x-tenant-id": theirs["tenant_id"]}
    assert reason(error(http.get(f"/v1/contacts/{contact['contact_id']}", headers=forged),
                        404)) == "CONTACT_NOT_FOUND"
    assert http.get("/v1/contacts", headers=forged).json()["contacts"] == []


@pytest.mark.needs_service("campaigns")
def test_a_csv_file_is_imported_through_the_edge_as_sent(http: httpx.Client) -> None:
    tokens = signup(http)["tokens"]
    csv_headers = {**auth(tokens), "content-type": "text/csv"}
    rows = "".join(f"+1650555{i:04d};Person {i};news\r\n" for i in range(800))  # free: 1,000
    data = ("\ufeffphone_number;display_name;tags\r\n" + rows).encode()
    imported = http.post("/v1/contacts:import", headers=csv_headers, content=data)
    assert imported.status_code == 200, imported.text
    counts = imported.json()
    assert (int(counts["rows"]), int(counts["created"]), int(counts["total_contacts"])) == (
        800, 800, 800)  # int64 fields arrive as JSON strings (proto3 JSON mapping)
    listed = http.get("/v1/contacts", params={"page_size": 1}, headers=auth(tokens)).json()
    assert listed["contacts"][0]["tags"] == ["news"]
    bad = error(http.post("/v1/contacts:import", headers=csv_headers,
                          content=b"phone,name\n+16505550001,Ann\nnope,Bo\n"), 400)
    assert violations(bad) == {"line[3].phone_number"}
    assert "nothing was imported" in bad["message"]
    assert reason(error(http.post("/v1/contacts:import", headers=csv_headers,
                                  content=b"phone,email\n"), 400)) == "INVALID_ARGUMENT"
    assert reason(error(http.post("/v1/contacts:import", content=data,
                                  headers={"content-type": "text/csv"}), 401)) == \
        "UNAUTHENTICATED"


@pytest.mark.needs_service("messaging")
def test_channels_list_through_the_edge(http: httpx.Client) -> None:
    tokens = signup(http)["tokens"]
    response = http.get("/v1/channels", headers=auth(tokens))
    assert response.status_code == 200, response.text
    assert response.json() == {"channels": [], "next_page_token": ""}


@pytest.mark.needs_service("webhooks-gateway")
def test_a_signed_webhook_is_accepted_and_a_forged_one_refused(http: httpx.Client,
                                                               stack: Stack) -> None:
    body = json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": secrets.token_hex(4), "changes": []}],
                       "note": "olá"}).encode()  # \\u-escaped non-ASCII, as Meta sends
    signature = "sha256=" + hmac.new(stack.app_secret.encode(), body,
                                     hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    first = http.post("/webhooks/whatsapp", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = http.post("/webhooks/whatsapp", content=body, headers=headers)
    assert again.json() == {"webhook_id": first.json()["webhook_id"], "duplicate": True}
    forged = http.post("/webhooks/whatsapp", content=body + b" ",
                       headers=headers)
    assert reason(error(forged, 401)) == "INVALID_SIGNATURE"


@pytest.mark.needs_service("webhooks-gateway")
def test_the_simulator_delivers_signed_webhooks_through_the_edge(http: httpx.Client,
                                                                  stack: Stack) -> None:
    """Cloud API simulator -> Envoy -> gateway -> PostgreSQL, signed with the shared secret."""
    sim = f"http://127.0.0.1:{SIM_PORT}"
    with httpx.Client(base_url=sim, timeout=30.0) as client:
        number = client.post("/_sim/phone_numbers", json={"mps": 80}).json()
        marker = f"STOP {secrets.token_hex(4)}"
        inbound = client.post("/_sim/inbound", json={
            "from": "5511999990000", "phone_number_id": number["phone_number_id"],
            "text": marker})
        assert inbound.status_code == 202, inbound.text
        idle = client.post("/_sim/webhooks/wait_idle", params={"timeout_ms": 20000})
        assert idle.status_code == 200, idle.text
        # The handshake Meta performs when the webhook is configured, with the shared token:
        assert client.post("/_sim/webhooks/verify").status_code == 200
    stored = asyncio.run(_admin_fetchval(
        stack.database,
        "SELECT count(*) FROM webhooks.received_webhooks WHERE convert_from(body, 'UTF8')"
        " LIKE '%' || $1 || '%'", marker))
    assert stored == 1
