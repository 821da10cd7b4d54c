"""Graph API routes: the part of the WhatsApp Cloud API that Tucano uses.

Any version segment (``v20.0``, ``v24.0``...) is accepted, so pointing a client at the
simulator is only a base-URL change.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from . import management
from .errors import GraphError
from .http import Params, Router, SimState, error_response, json_response, read_json

_NODE = "/{version}/{node}"


async def post_messages(
    request: web.BaseRequest, state: SimState, params: Params
) -> web.StreamResponse:
    body = await read_json(request)
    try:
        accepted = state.engine.send(params["node"], request.headers.get("Authorization"), body)
    except GraphError as exc:
        return error_response(state, exc)
    if accepted.slow_s:
        # The message is already accepted (and in the ledger): a client that times out and
        # re-sends creates a duplicate, exactly the production hazard worth testing.
        await asyncio.sleep(accepted.slow_s)
    return json_response(accepted.response)


async def get_node(request: web.BaseRequest, state: SimState, params: Params) -> web.StreamResponse:
    try:
        info = management.number_info(
            state.engine, params["node"], request.headers.get("Authorization")
        )
    except GraphError as exc:
        return error_response(state, exc)
    fields = request.query.get("fields")
    if fields:
        wanted = {f.strip() for f in fields.split(",")} | {"id"}
        info = {k: v for k, v in info.items() if k in wanted}
    return json_response(info)


async def get_phone_numbers(
    request: web.BaseRequest, state: SimState, params: Params
) -> web.StreamResponse:
    try:
        body = management.waba_numbers(
            state.engine, params["node"], request.headers.get("Authorization")
        )
    except GraphError as exc:
        return error_response(state, exc)
    return json_response(body)


async def get_templates(
    request: web.BaseRequest, state: SimState, params: Params
) -> web.StreamResponse:
    try:
        body, has_next, has_previous = management.list_templates(
            state.engine, params["node"], request.headers.get("Authorization"), request.query
        )
    except GraphError as exc:
        return error_response(state, exc)
    paging = body.get("paging")
    if paging is not None:
        cursors = paging["cursors"]
        base = request.url.without_query_params("after", "before")
        if has_next:
            paging["next"] = str(base.update_query(after=cursors["after"]))
        if has_previous:
            paging["previous"] = str(base.update_query(before=cursors["before"]))
    return json_response(body)


async def post_templates(
    request: web.BaseRequest, state: SimState, params: Params
) -> web.StreamResponse:
    body = await read_json(request)
    try:
        created = management.create_template_graph(
            state.engine, params["node"], request.headers.get("Authorization"), body
        )
    except GraphError as exc:
        return error_response(state, exc)
    return json_response(created)


def setup_routes(router: Router) -> None:
    router.add("POST", _NODE + "/messages", post_messages)
    router.send_handler = post_messages  # resolved without the generic matching
    router.add("GET", _NODE + "/message_templates", get_templates)
    router.add("POST", _NODE + "/message_templates", post_templates)
    router.add("GET", _NODE + "/phone_numbers", get_phone_numbers)
    router.add("GET", _NODE, get_node)
