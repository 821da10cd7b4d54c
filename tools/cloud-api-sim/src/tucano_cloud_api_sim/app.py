"""Server assembly and start/stop, shared by ``__main__`` and the tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from . import admin, graph
from .errors import GraphError
from .http import Router, SimState, error_response, json_response
from .settings import Settings


def build_router() -> Router:
    router = Router()
    graph.setup_routes(router)  # first: POST /messages is the route that must resolve fastest
    admin.setup_routes(router)
    return router


def create_server(settings: Settings) -> tuple[web.Server, SimState]:
    """The aiohttp low-level server with the simulator's routes, and the state it serves."""
    state = SimState(settings)
    router = build_router()

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        handler, params, path_known = router.resolve(request.method, request.path)
        if handler is not None:
            return await handler(request, state, params)
        if path_known:
            return json_response({"error": {"message": "Method not allowed"}}, 405)
        # Graph answers unknown paths with an OAuthException, code 2500.
        exc = GraphError(2500, "Unknown path components", http_status=400)
        return error_response(state, exc)

    # Per-request access logging costs more than the request itself at thousands a second.
    access_log = logging.getLogger("aiohttp.access") if settings.access_log else None
    return web.Server(handle, access_log=access_log), state


@dataclass(slots=True)
class RunningServer:
    runner: web.ServerRunner
    state: SimState
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.state.dispatcher.stop()


async def start_server(settings: Settings) -> RunningServer:
    """Start listening on settings.host:settings.port (0 picks a free port)."""
    server, state = create_server(settings)
    await state.dispatcher.start()
    # Slow responses are simulated with sleeps; shutdown should not wait a minute for them.
    runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=2048, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        await state.dispatcher.stop()
        raise
    port = settings.port
    for sock in runner.addresses:
        port = sock[1]
        break
    return RunningServer(runner, state, settings.host, port)
