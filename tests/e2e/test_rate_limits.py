"""Rate limits through the edge against the running stack: Envoy's ratelimit filter asking the
tenants service's RLS (envoy.service.ratelimit.v3.RateLimitService on the tenants gRPC port).

The edge's side of the contract (descriptors, 429 shape, fail-open) is also covered against a
fake RLS in test_edge_security.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import grpc
import httpx
import pytest
import redis as redis_lib
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_kit.postgres.provision import dsn_for_database
from tucano_stack.testing import wait_until

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300),
              pytest.mark.needs_service("auth"), pytest.mark.needs_service("tenants")]

PASSWORD = "correct horse battery staple"
ADMIN_URL = os.environ.get("TUCANO_DATABASE_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
SIGN_IN_LIMIT = 300  # TUCANO_RATELIMIT_AUTH_PER_IP_PER_MINUTE in tests/e2e/conftest.py
IMPORTS_PER_MINUTE = 10  # TUCANO_RATELIMIT_IMPORTS_PER_MINUTE's default (tenants' settings)
MAX_ATTEMPTS = 60  # requests to find a tenant limit of a few per minute (plan limits cached ~3 s)
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}


def signup(http: httpx.Client) -> dict[str, Any]:
    response = http.post("/v1/auth:signup", json={
        "email": f"rl.{secrets.token_hex(4)}@example.com", "password": PASSWORD,
        "display_name": "Limited", "tenant_name": "Limited Co"})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()["tokens"]
    return tokens


async def _sql(database: str, query: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn_for_database(ADMIN_URL, database))
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


def edge_429(response: httpx.Response) -> bool:
    """A refusal by the edge's rate limit (not a service's RESOURCE_EXHAUSTED)."""
    return response.status_code == 429 and any(
        d.get("domain") == "edge.tucano" for d in response.json().get("details", []))


def assert_edge_429(response: httpx.Response) -> None:
    assert edge_429(response), response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == 8 and body["details"][0]["reason"] == "RATE_LIMITED", body
    assert int(response.headers["retry-after"]) >= 1, response.headers
    assert response.headers.get("x-ratelimit-limit"), response.headers
    assert response.headers.get("x-request-id")
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value


def test_a_tenant_over_its_limit_gets_429_then_resource_exhausted(
        stack: Stack, http: httpx.Client) -> None:
    tokens = signup(http)
    asyncio.run(_sql(stack.database, "UPDATE tenants.tenants SET "
                     "api_requests_per_second_override = 1000, "
                     "api_requests_per_minute_override = 3 WHERE id = $1",
                     uuid.UUID(tokens["tenant_id"])))
    headers = {"authorization": f"Bearer {tokens['access_token']}"}
    responses = []
    for _ in range(MAX_ATTEMPTS):
        responses.append(http.get("/v1/me", headers=headers))
        if edge_429(responses[-1]):
            break
    assert_edge_429(responses[-1])
    assert any(r.status_code == 200 for r in responses)
    assert responses[0].headers.get("x-ratelimit-limit"), responses[0].headers
    with grpc.insecure_channel(stack.edge_target) as channel, \
            pytest.raises(grpc.RpcError) as error:
        auth_pb2_grpc.AuthServiceStub(channel).GetMe(
            auth_pb2.GetMeRequest(), timeout=30,
            metadata=[("authorization", f"Bearer {tokens['access_token']}")])
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    other = signup(http)  # another tenant is not affected
    assert http.get("/v1/me", headers={
        "authorization": f"Bearer {other['access_token']}"}).status_code == 200


@pytest.mark.needs_service("campaigns")
def test_imports_have_their_own_per_tenant_limit(http: httpx.Client) -> None:
    tokens = signup(http)
    headers = {"authorization": f"Bearer {tokens['access_token']}", "content-type": "text/csv"}
    responses = []
    # TUCANO_RATELIMIT_IMPORTS_PER_MINUTE is 10; a minute boundary may reset the window once.
    for _ in range(IMPORTS_PER_MINUTE * 2 + 2):
        responses.append(http.post("/v1/contacts:import", headers=headers,
                                   content=b"phone\n+16505550100\n"))
        if edge_429(responses[-1]):
            break
    assert_edge_429(responses[-1])
    assert IMPORTS_PER_MINUTE <= sum(r.status_code == 200 for r in responses) \
        <= IMPORTS_PER_MINUTE * 2
    # The tenant's other requests are not held back by its imports.
    assert http.get("/v1/contacts", headers=headers).status_code == 200


def test_sign_in_is_limited_per_client_address(stack: Stack) -> None:
    """From 127.0.0.2, so the rest of the suite (127.0.0.1) keeps its sign-in budget."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=stack.edge_url, timeout=30.0, transport=transport) as client:
        answered = []
        # Fixed one-minute windows: the loop may straddle a window boundary, so it must be
        # long enough that one of (at most) two windows overflows.
        for _ in range(2 * SIGN_IN_LIMIT + 50):
            response = client.post("/v1/auth:refresh", json={"refresh_token": "not-a-token"})
            if edge_429(response):
                break
            assert response.status_code in (400, 401), response.text
            answered.append(response)
        assert_edge_429(response)
        assert answered  # the first ones reached auth


def test_redis_down_keeps_limiting_locally_and_sharing_resumes_when_it_returns(
        stack: Stack, http: httpx.Client) -> None:
    """The stack runs on its own redis-server (tests/e2e/conftest.py), killed and restarted
    here. Every request is answered within its timeout throughout."""
    tokens = signup(http)
    asyncio.run(_sql(stack.database, "UPDATE tenants.tenants SET "
                     "api_requests_per_second_override = 1000, "
                     "api_requests_per_minute_override = 4 WHERE id = $1",
                     uuid.UUID(tokens["tenant_id"])))
    headers = {"authorization": f"Bearer {tokens['access_token']}"}
    keys = redis_lib.Redis(port=stack.redis.port, socket_timeout=2)
    stack.redis.stop()
    statuses = []
    with httpx.Client(base_url=stack.edge_url, timeout=5.0) as quick:  # a hang would fail here
        for _ in range(MAX_ATTEMPTS):
            statuses.append(quick.get("/v1/me", headers=headers).status_code)
            if statuses[-1] == 429:
                break
    assert statuses[-1] == 429 and set(statuses) <= {200, 429}, statuses
    assert 200 in statuses  # served while Redis is gone, and limited from local counters
    stack.redis.start()

    def shared_again() -> bool:
        http.get("/v1/me", headers=headers)
        return bool(keys.keys(f"rl:tenant:{tokens['tenant_id']}*"))

    deadline = time.monotonic() + 30
    while not shared_again():
        assert time.monotonic() < deadline, "the limiter did not go back to Redis"
        time.sleep(0.5)


def _fresh_minute(room_s: float = 20.0) -> None:
    """Wait, if need be, until at least `room_s` remain in the current wall-clock minute (the
    limiter's fixed windows), so a test's window does not reset under it."""
    left = 60 - time.time() % 60
    if left < room_s:
        time.sleep(left + 0.2)


def test_a_tenant_over_its_plan_is_refused_while_another_is_served_and_a_raised_plan_applies(
        stack: Stack, http: httpx.Client, platform_operator: dict[str, Any]) -> None:
    """Plans changed the way an operator changes them (PATCH /v1/tenants/{id}/plan), limits
    enforced by the edge: A's plan allows 4 requests a minute; A and B call at the same
    moment; then A's plan is raised and A is served again within seconds, no restart."""
    asyncio.run(_sql(stack.database, "INSERT INTO tenants.plans VALUES"
                     " ('e2e-tight', 'E2E tight', 90, 1000, 4, 1000, 1000),"
                     " ('e2e-roomy', 'E2E roomy', 91, 1000, 100000, 1000, 1000)"
                     " ON CONFLICT (id) DO NOTHING"))
    a, b = signup(http), signup(http)
    op = {"authorization": f"Bearer {platform_operator['access_token']}"}

    def set_plan(tenant: dict[str, Any], plan: str) -> None:
        response = http.patch(f"/v1/tenants/{tenant['tenant_id']}/plan", headers=op,
                              json={"plan_id": plan})
        assert response.status_code == 200, response.text

    a_headers = {"authorization": f"Bearer {a['access_token']}"}
    b_headers = {"authorization": f"Bearer {b['access_token']}"}
    _fresh_minute()
    set_plan(a, "e2e-tight")
    responses: list[httpx.Response] = []
    for _ in range(MAX_ATTEMPTS):
        responses.append(http.get("/v1/me", headers=a_headers))
        if edge_429(responses[-1]):
            break
    assert_edge_429(responses[-1])
    assert int(responses[-1].headers["x-ratelimit-limit"].split(",")[0]) == 4

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        at_once = list(pool.map(lambda h: http.get("/v1/me", headers=h),
                                [a_headers, b_headers] * 4))
    assert all(edge_429(r) for r in at_once[0::2]), [r.status_code for r in at_once]
    assert all(r.status_code == 200 for r in at_once[1::2]), [r.text for r in at_once[1::2]]

    set_plan(a, "e2e-roomy")
    started = time.monotonic()
    assert wait_until(lambda: http.get("/v1/me", headers=a_headers).status_code == 200, 15,
                      interval_s=0.5), "the raised plan did not apply within 15 s"
    print(f"raised plan applied after {time.monotonic() - started:.1f}s")
