"""HTTP plumbing shared by the Graph and admin handlers: state, routing, JSON, Graph errors.

The simulator runs on aiohttp's low-level server (``web.Server``) with the small router below
instead of ``web.Application``: the send path is the whole point of a load simulator, and
skipping the application machinery leaves more of the CPU for it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from .dispatcher import WebhookDispatcher
from .engine import Simulator
from .errors import GraphError, invalid_parameter
from .settings import Settings


class SimState:
    """Everything one running simulator owns: the domain core and the webhook dispatcher."""

    def __init__(self, settings: Settings) -> None:
        self.dispatcher = WebhookDispatcher(lambda: self.engine.settings, seed=settings.seed)
        self.engine = Simulator(settings, self.dispatcher.schedule, _call_later)


def _call_later(delay_s: float, callback: Callable[[], None]) -> None:
    asyncio.get_running_loop().call_later(delay_s, callback)


Params = dict[str, str]
Handler = Callable[[web.BaseRequest, SimState, Params], Awaitable[web.StreamResponse]]

_VERSION = re.compile(r"v[0-9]+\.[0-9]+")
_JSON = "application/json"


class Router:
    """Routes by path segments. ``{name}`` captures a segment; ``{version}`` only matches
    Graph version segments such as ``v24.0``."""

    def __init__(self) -> None:
        self._routes: dict[int, list[tuple[tuple[str, ...], dict[str, Handler]]]] = {}
        self.send_handler: Handler | None = None

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        parts = tuple(pattern.strip("/").split("/"))
        routes = self._routes.setdefault(len(parts), [])
        for existing, methods in routes:
            if existing == parts:
                methods[method] = handler
                return
        routes.append((parts, {method: handler}))

    def resolve(self, method: str, path: str) -> tuple[Handler | None, Params, bool]:
        """(handler, captured params, path matched). A matched path without the method gives
        (None, {}, True) so the caller can answer 405."""
        if self.send_handler is not None and method == "POST" and path.endswith("/messages"):
            # Fast path for POST /{version}/{phone_number_id}/messages, the one hot route.
            hot = path.split("/")
            if len(hot) == 4 and hot[2] and _VERSION.fullmatch(hot[1]):
                return self.send_handler, {"version": hot[1], "node": hot[2]}, True
        segments = path.strip("/").split("/")
        path_matched = False
        for parts, methods in self._routes.get(len(segments), ()):
            params: Params = {}
            for want, got in zip(parts, segments, strict=True):
                if want[0] == "{":
                    name = want[1:-1]
                    if not got or (name == "version" and not _VERSION.fullmatch(got)):
                        break
                    params[name] = got
                elif want != got:
                    break
            else:
                handler = methods.get(method)
                if handler is not None:
                    return handler, params, True
                path_matched = True
        return None, {}, path_matched


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=_JSON)


def error_response(state: SimState, exc: GraphError) -> web.Response:
    response = json_response(exc.envelope(state.engine.fbtrace_id()), exc.http_status)
    if exc.code == 190:
        # Graph tells OAuth clients why, in the header as well as the body.
        response.headers["WWW-Authenticate"] = (
            'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"'
        )
    return response


async def read_json(request: web.BaseRequest) -> Any:
    """Parsed body, or None when the body is empty or not JSON (callers decide the error)."""
    content = request.content
    if content.is_eof():
        # A small body usually arrives whole with its headers: take it without the awaits
        # and chunk loop of request.read().
        raw = content.read_nowait()
    else:
        raw = await request.read()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


async def read_object(request: web.BaseRequest) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    return body
