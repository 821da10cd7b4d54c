"""Simulator-only admin surface under ``/_sim/`` (documented in the README)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from . import management
from .errors import GraphError, invalid_parameter
from .http import Handler, Params, Router, SimState, error_response, json_response, read_object
from .settings import SettingsError, public_view

AdminHandler = Callable[[web.BaseRequest, SimState, Params], Awaitable[Any]]


def _guarded(handler: AdminHandler) -> Handler:
    """Admin handlers return JSON-able data or a Response; GraphError becomes Meta's envelope
    so clients parse one error shape everywhere."""

    async def wrapper(
        request: web.BaseRequest, state: SimState, params: Params
    ) -> web.StreamResponse:
        try:
            result = await handler(request, state, params)
        except GraphError as exc:
            return error_response(state, exc)
        except SettingsError as exc:
            return error_response(state, invalid_parameter(str(exc)))
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result)

    return wrapper


def _int_query(request: web.BaseRequest, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_parameter(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise invalid_parameter(f"{name} must be between {lo} and {hi}")
    return value


async def health(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    return {
        "status": "ok",
        "phone_numbers": len(state.engine.accounts.numbers),
        "ledger_total": len(state.engine.ledger.rows),
        "webhooks_pending": state.dispatcher.pending,
    }


async def create_number(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    number = management.create_phone_number(state.engine, await read_object(request))
    return json_response(number.admin_view(), 201)


async def list_numbers(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    return {"data": [n.admin_view() for n in state.engine.accounts.numbers.values()]}


async def update_number(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    body = await read_object(request)
    return management.update_phone_number(state.engine, params["id"], body).admin_view()


def _template_view(template: Any) -> dict[str, Any]:
    return {**template.graph_view(), "waba_id": template.waba_id}


async def list_templates(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    waba_id = request.query.get("waba_id")
    templates = state.engine.templates.by_id.values()
    return {
        "data": [_template_view(t) for t in templates if waba_id is None or t.waba_id == waba_id]
    }


async def create_template(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    body = await read_object(request)
    waba_id = body.get("waba_id")
    if not isinstance(waba_id, str):
        raise invalid_parameter("waba_id is required")
    template = management.create_template(state.engine, waba_id, body, status="APPROVED")
    return json_response(_template_view(template), 201)


async def update_template(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    body = await read_object(request)
    status = body.get("status")
    if not isinstance(status, str):
        raise invalid_parameter("status is required")
    reason = body.get("reason")
    other_info = body.get("other_info")
    if reason is not None and not isinstance(reason, str):
        raise invalid_parameter("reason must be a string")
    if other_info is not None and not isinstance(other_info, dict):
        raise invalid_parameter("other_info must be an object")
    template = management.set_template_status(
        state.engine, params["id"], status, reason=reason, other_info=other_info
    )
    return _template_view(template)


async def inbound(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    body = await read_object(request)
    sender, pnid, text = body.get("from"), body.get("phone_number_id"), body.get("text")
    name = body.get("name")
    if not isinstance(sender, str) or not isinstance(pnid, str) or not isinstance(text, str):
        raise invalid_parameter("from, phone_number_id and text are required strings")
    if name is not None and not isinstance(name, str):
        raise invalid_parameter("name must be a string")
    entry_point = body.get("entry_point", False)
    if not isinstance(entry_point, bool):
        raise invalid_parameter("entry_point must be true or false")
    message_id = management.inbound_text(
        state.engine, pnid, sender, text, name, entry_point=entry_point
    )
    return json_response({"message_id": message_id}, 202)


async def set_force(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    recipient, force = management.set_force(state.engine, await read_object(request))
    return {"recipient": recipient, **force.view()}


async def list_forces(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    return {"forces": state.engine.forces.view()}


async def clear_forces(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    recipient = request.query.get("recipient")
    return {"cleared": state.engine.forces.clear(recipient)}


async def ledger(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    rows = request.query.get("rows", "true").lower() not in {"0", "false", "no"}
    return state.engine.ledger.summary(
        phone_number_id=request.query.get("phone_number_id"),
        offset=_int_query(request, "offset", 0, 0, 10**9),
        limit=_int_query(request, "limit", 1000, 0, 1_000_000),
        include_rows=rows,
    )


async def reset(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    state.dispatcher.clear()
    state.engine.reset()
    return {"status": "reset"}


async def get_config(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    return public_view(state.engine.settings)


async def patch_config(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    return public_view(state.engine.configure(await read_object(request)))


async def webhooks(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    return state.dispatcher.view()


async def wait_idle(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    timeout = _int_query(request, "timeout_ms", 10_000, 0, 600_000) / 1000
    idle = await state.dispatcher.wait_idle(timeout)
    return {"idle": idle, **state.dispatcher.view()}


async def verify_webhook(request: web.BaseRequest, state: SimState, params: Params) -> Any:
    """Meta's subscription handshake: GET callback?hub.mode=subscribe&hub.challenge=..."""
    s = state.engine.settings
    if not s.webhook_url:
        raise invalid_parameter("SIM_WEBHOOK_URL is not set")
    challenge = str(secrets.randbelow(10**9))
    params = {
        "hub.mode": "subscribe",
        "hub.challenge": challenge,
        "hub.verify_token": s.verify_token,
    }
    timeout = aiohttp.ClientTimeout(total=s.webhook_timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(s.webhook_url, params=params, allow_redirects=False) as resp,
        ):
            text = await resp.text()
            status: int | str = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return {"verified": False, "status": type(exc).__name__}
    return {"verified": status == 200 and text == challenge, "status": status}


def setup_routes(router: Router) -> None:
    router.add("GET", "/_sim/health", _guarded(health))
    router.add("POST", "/_sim/phone_numbers", _guarded(create_number))
    router.add("GET", "/_sim/phone_numbers", _guarded(list_numbers))
    router.add("PATCH", "/_sim/phone_numbers/{id}", _guarded(update_number))
    router.add("GET", "/_sim/templates", _guarded(list_templates))
    router.add("POST", "/_sim/templates", _guarded(create_template))
    router.add("PATCH", "/_sim/templates/{id}", _guarded(update_template))
    router.add("POST", "/_sim/inbound", _guarded(inbound))
    router.add("POST", "/_sim/force", _guarded(set_force))
    router.add("GET", "/_sim/force", _guarded(list_forces))
    router.add("DELETE", "/_sim/force", _guarded(clear_forces))
    router.add("GET", "/_sim/ledger", _guarded(ledger))
    router.add("POST", "/_sim/reset", _guarded(reset))
    router.add("GET", "/_sim/config", _guarded(get_config))
    router.add("PATCH", "/_sim/config", _guarded(patch_config))
    router.add("GET", "/_sim/webhooks", _guarded(webhooks))
    router.add("POST", "/_sim/webhooks/wait_idle", _guarded(wait_idle))
    router.add("POST", "/_sim/webhooks/verify", _guarded(verify_webhook))
