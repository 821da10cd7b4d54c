"""Fixtures: a real simulator on 127.0.0.1:0 and real webhook receivers, talked to over HTTP.

Helpers are handed out as fixtures (not imported by the test modules) so nothing depends on
how pytest names this conftest next to the other packages' test directories.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from tucano_cloud_api_sim import RunningServer, Settings, start_server

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "test-app-secret"
WAIT_S = 10.0  # upper bound for anything asynchronous; never a speed assertion

# Small delays so webhook tests finish quickly; every test can override.
FAST = {
    "app_secret": SECRET,
    "sent_delay_s": 0.01,
    "delivered_delay_s": 0.02,
    "read_delay_s": 0.02,
    "webhook_linger_s": 0.005,
    "retry_base_s": 0.05,
    "retry_max_s": 0.2,
    "seed": 1234,
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Received:
    raw: bytes
    signature: str | None
    answered: int

    @property
    def payload(self) -> Any:
        return json.loads(self.raw)


class Receiver:
    """A webhook endpoint: fails the first ``fail_first`` POSTs with ``fail_status``, and when
    ``secret`` is set answers 403 to a bad signature (over the raw bytes), like pywa."""

    def __init__(self, *, fail_first: int = 0, fail_status: int = 500, secret: str | None = None):
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.secret = secret
        self.received: list[Received] = []
        self.verify_requests: list[dict[str, str]] = []
        self._changed = asyncio.Condition()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/whatsapp", self._post)
        app.router.add_get("/webhooks/whatsapp", self._get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/webhooks/whatsapp"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _get(self, request: web.Request) -> web.Response:
        self.verify_requests.append(dict(request.query))
        if request.query.get("hub.verify_token") == "good-token":
            return web.Response(text=request.query.get("hub.challenge", ""))
        return web.Response(status=403)

    async def _post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        sig = request.headers.get("X-Hub-Signature-256")
        if len(self.received) < self.fail_first:
            status = self.fail_status
        elif self.secret is not None and (
            sig is None or not hmac.compare_digest(sig, sign(self.secret, raw))
        ):
            status = 403
        else:
            status = 200
        async with self._changed:
            self.received.append(Received(raw, sig, status))
            self._changed.notify_all()
        return web.Response(status=status, text="ok" if status == 200 else "no")

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.answered == 200]

    def statuses(self, *, accepted_only: bool = True) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rec in self.accepted if accepted_only else self.received:
            for entry in rec.payload["entry"]:
                for change in entry["changes"]:
                    out.extend(change["value"].get("statuses", []))
        return out

    async def wait_for(self, predicate: Callable[[], bool], limit_s: float = WAIT_S) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), limit_s)


@dataclass
class Sim:
    server: RunningServer
    http: aiohttp.ClientSession
    numbers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.base_url

    async def call(
        self, method: str, path: str, *, json_body: Any = None, token: str | None = None, **kw: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(
            method, self.url + path, json=json_body, headers=headers, **kw
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def number(self, **body: Any) -> dict[str, Any]:
        status, created = await self.call("POST", "/_sim/phone_numbers", json_body=body)
        assert status == 201 and isinstance(created, dict), created
        self.numbers.append(created)
        return created

    async def send(
        self, number: dict[str, Any], body: dict[str, Any], token: str | None = None
    ) -> tuple[int, Any]:
        return await self.call(
            "POST",
            f"/v24.0/{number['phone_number_id']}/messages",
            json_body=body,
            token=token or number["access_token"],
        )

    async def ledger(self, **params: str) -> dict[str, Any]:
        status, body = await self.call("GET", "/_sim/ledger", params=params)
        assert status == 200
        assert isinstance(body, dict)
        return body

    async def idle(self) -> dict[str, Any]:
        status, body = await self.call(
            "POST", "/_sim/webhooks/wait_idle", params={"timeout_ms": str(int(WAIT_S * 1000))}
        )
        assert status == 200 and body["idle"], body
        return body  # type: ignore[no-any-return]


def hello(to: str, opaque: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    if opaque is not None:
        body["biz_opaque_callback_data"] = opaque
    return body


MakeSim = Callable[..., Awaitable[Sim]]
MakeReceiver = Callable[..., Awaitable[Receiver]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def make_receiver() -> AsyncIterator[MakeReceiver]:
    receivers: list[Receiver] = []

    async def make(**kw: Any) -> Receiver:
        receiver = Receiver(**kw)
        await receiver.start()
        receivers.append(receiver)
        return receiver

    yield make
    for receiver in receivers:
        await receiver.stop()


@pytest.fixture
async def make_sim(
    http: aiohttp.ClientSession, make_receiver: MakeReceiver
) -> AsyncIterator[MakeSim]:
    # Depends on make_receiver so simulators stop before their receivers do.
    servers: list[RunningServer] = []

    async def make(**overrides: Any) -> Sim:
        server = await start_server(Settings(**{"port": 0, **FAST, **overrides}))
        servers.append(server)
        return Sim(server, http)

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture
async def receiver(make_receiver: MakeReceiver) -> Receiver:
    return await make_receiver()


@pytest.fixture
async def sim(make_sim: MakeSim, receiver: Receiver) -> Sim:
    """Simulator with webhooks to ``receiver``."""
    return await make_sim(webhook_url=receiver.url)


@pytest.fixture
def hello_body() -> Callable[..., dict[str, Any]]:
    return hello


@pytest.fixture
def meta_fixture() -> Callable[[str], Any]:
    return fixture


@pytest.fixture
def signer() -> Callable[[str, bytes], str]:
    return sign


@pytest.fixture
def secret() -> str:
    return SECRET
