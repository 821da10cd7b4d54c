"""Entry point: ``tucano-cloud-api-sim`` or ``python -m tucano_cloud_api_sim``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from .app import start_server
from .settings import Settings, SettingsError, load_settings

log = logging.getLogger("tucano_cloud_api_sim")


async def serve(settings: Settings) -> None:
    server = await start_server(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    webhooks = settings.webhook_url or "off"
    # One line on stdout that scripts can wait for; it carries the real port when SIM_PORT=0.
    print(f"tucano-cloud-api-sim listening on {server.base_url} (webhooks: {webhooks})", flush=True)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await server.stop()


def _run(settings: Settings) -> None:
    try:
        import uvloop  # noqa: PLC0415 - optional: roughly halves the cost of each request
    except ImportError:
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))


def main() -> None:
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"tucano-cloud-api-sim: invalid setting {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        _run(settings)
    except OSError as exc:  # e.g. address already in use
        print(
            f"tucano-cloud-api-sim: cannot listen on {settings.host}:{settings.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
