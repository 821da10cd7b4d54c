"""Tenancy through the edge: invitations and roles, last-owner protection, removal, suspension,
closing, and isolation between tenants — as a dashboard and a platform operator drive them."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300),
              pytest.mark.needs_service("auth"), pytest.mark.needs_service("tenants"),
              pytest.mark.needs_service("campaigns")]

PASSWORD = "correct horse battery staple"
GATE_CACHE_S = 5  # tenant standing is cached this long by every service (CachedTenantGate)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    details = response.json().get("details", [])
    assert reason in [d.get("reason") for d in details], response.text


def auth(tokens: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


def signup(http: httpx.Client) -> dict[str, Any]:
    return ok(http.post("/v1/auth:signup", json={
        "email": f"t.{secrets.token_hex(4)}@example.com", "password": PASSWORD,
        "display_name": "Owner", "tenant_name": f"Tenant {secrets.token_hex(2)}"}))


def join(http: httpx.Client, owner: dict[str, Any], role: str) -> dict[str, Any]:
    email = f"m.{secrets.token_hex(4)}@example.com"
    invited = ok(http.post("/v1/invitations", headers=auth(owner["tokens"]),
                           json={"email": email, "role": role}))
    return ok(http.post("/v1/invitations:accept", json={
        "token": invited["token"], "password": PASSWORD, "display_name": role.title()}))


def eventually(check: Callable[[], bool], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s}s: {what}"
        time.sleep(0.5)  # stay under the free plan's 5 requests per second


def test_roles_decide_what_a_member_may_do(http: httpx.Client) -> None:
    owner = signup(http)
    viewer = join(http, owner, "viewer")
    assert viewer["user_created"] and viewer["tokens"]["role"] == "viewer"
    refused(http.post("/v1/contacts", headers=auth(viewer["tokens"]),
                      json={"phone_number": "+16505550190"}), 403, "ROLE_TOO_LOW")
    assert ok(http.get("/v1/contacts", headers=auth(viewer["tokens"])))["contacts"] == []
    refused(http.get("/v1/members", headers=auth(viewer["tokens"])), 403, "ROLE_TOO_LOW")
    members = ok(http.get("/v1/members", headers=auth(owner["tokens"])))["members"]
    assert {m["role"] for m in members} == {"owner", "viewer"}


def test_the_last_owner_stays_and_a_removed_member_cannot_refresh(http: httpx.Client) -> None:
    owner = signup(http)
    refused(http.delete(f"/v1/members/{owner['user']['user_id']}",
                        headers=auth(owner["tokens"])), 400, "LAST_OWNER")
    member = join(http, owner, "operator")
    assert http.delete(f"/v1/members/{member['user']['user_id']}",
                       headers=auth(owner["tokens"])).status_code == 200

    def refresh_refused() -> bool:
        response = http.post("/v1/auth:refresh",
                             json={"refresh_token": member["tokens"]["refresh_token"]})
        return response.status_code == 401

    eventually(refresh_refused, 20, "the removed member's refresh is refused")


def test_an_invitation_token_works_once(http: httpx.Client) -> None:
    owner = signup(http)
    invited = ok(http.post("/v1/invitations", headers=auth(owner["tokens"]),
                           json={"email": f"once.{secrets.token_hex(4)}@example.com",
                                 "role": "operator"}))
    body = {"token": invited["token"], "password": PASSWORD, "display_name": "Once"}
    ok(http.post("/v1/invitations:accept", json=body))
    refused(http.post("/v1/invitations:accept", json=body), 400, "INVITATION_USED")


def test_another_tenants_ids_are_404_on_every_tenants_route(http: httpx.Client) -> None:
    a, b = signup(http), signup(http)
    b_member = join(http, b, "viewer")
    b_invite = ok(http.post("/v1/invitations", headers=auth(b["tokens"]),
                            json={"email": "pending@example.com", "role": "viewer"}))
    a_auth = auth(a["tokens"])
    for response in (
            http.patch(f"/v1/members/{b_member['user']['user_id']}", headers=a_auth,
                       json={"role": "operator"}),
            http.delete(f"/v1/members/{b_member['user']['user_id']}", headers=a_auth),
            http.delete(f"/v1/members/{b['user']['user_id']}", headers=a_auth),
            http.delete(f"/v1/invitations/{b_invite['invitation']['invitation_id']}",
                        headers=a_auth),
            http.delete(f"/v1/invitations/{uuid.uuid4()}", headers=a_auth)):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == 5
    assert ok(http.get("/v1/tenant", headers=a_auth))["tenant"]["tenant"]["tenant_id"] == (
        a["tokens"]["tenant_id"])
    assert ok(http.get("/v1/invitations", headers=a_auth))["invitations"] == []


def test_a_suspended_tenant_reads_but_cannot_write_until_reactivated(
        http: httpx.Client, platform_operator: dict[str, Any]) -> None:
    tenant, op = signup(http), platform_operator
    refused(http.post(f"/v1/tenants/{tenant['tokens']['tenant_id']}:suspend",
                      headers=auth(tenant["tokens"]), json={"reason": "x"}), 403,
            "PLATFORM_OPERATOR_ONLY")
    ok(http.post(f"/v1/tenants/{tenant['tokens']['tenant_id']}:suspend", headers=auth(op),
                 json={"reason": "unpaid invoice"}))
    write = {"phone_number": "+16505550191"}

    def writes_refused() -> bool:
        return http.post("/v1/contacts", headers=auth(tenant["tokens"]),
                         json=write).status_code == 400

    eventually(writes_refused, GATE_CACHE_S * 4, "the suspension reached campaigns")
    refused(http.post("/v1/contacts", headers=auth(tenant["tokens"]), json=write), 400,
            "TENANT_SUSPENDED")
    refused(http.post("/v1/contacts:import", content=b"phone\n+16505550192\n",
                      headers={**auth(tenant["tokens"]), "content-type": "text/csv"}), 400,
            "TENANT_SUSPENDED")
    assert ok(http.get("/v1/contacts", headers=auth(tenant["tokens"])))["contacts"] == []
    ok(http.post(f"/v1/tenants/{tenant['tokens']['tenant_id']}:reactivate", headers=auth(op),
                 json={}))
    eventually(lambda: http.post("/v1/contacts", headers=auth(tenant["tokens"]),
                                 json=write).status_code == 200,
               GATE_CACHE_S * 4, "writes allowed again")
    plans = ok(http.patch(f"/v1/tenants/{tenant['tokens']['tenant_id']}/plan",
                          headers=auth(op), json={"plan_id": "growth"}))
    assert plans["tenant"]["limits"]["plan_id"] == "growth"


def test_a_closed_tenants_tokens_are_refused(http: httpx.Client) -> None:
    owner = signup(http)
    name = ok(http.get("/v1/tenant", headers=auth(owner["tokens"])))["tenant"]["settings"]["name"]
    ok(http.post("/v1/tenant:close", headers=auth(owner["tokens"]),
                 json={"confirm_name": name}))
    eventually(lambda: http.get("/v1/contacts", headers=auth(owner["tokens"])).status_code
               == 401, GATE_CACHE_S * 4, "the close reached campaigns")
    response = http.post("/v1/auth:refresh",
                         json={"refresh_token": owner["tokens"]["refresh_token"]})
    assert response.status_code == 401, response.text
    # Whichever comes first: auth's consumer ending the sessions, or refresh's membership check.
    assert {d.get("reason") for d in response.json()["details"]} & {"SESSION_REVOKED",
                                                                    "MEMBERSHIP_ENDED"}
