"""Running a process: uvloop, SIGTERM/SIGINT handling, one-line start-up failures.

`main_entry` is what every console script calls. A `ConfigError` raised anywhere during
start-up (bad setting, unreachable dependency) is printed as one line naming the setting and
the process exits with status 2, never with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import uvloop

from tucano_kit.settings import ConfigError, redact

T = TypeVar("T")
log = logging.getLogger("tucano.lifecycle")


def main_entry(program: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        uvloop.run(run())
    except ConfigError as exc:
        print(f"{program}: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


def stop_event() -> asyncio.Event:
    """An event set by the first SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    return stopping


async def connect_or_fail(setting: str, url: str, timeout_s: float,
                          connect: Callable[[], Awaitable[T]]) -> T:
    """Await `connect()`; a failure or timeout becomes a ConfigError naming the setting."""
    try:
        async with asyncio.timeout(timeout_s):
            return await connect()
    except TimeoutError:
        raise ConfigError(
            f"{setting}: no answer from {redact(url)} within {timeout_s:g}s") from None
    except ConfigError:
        raise
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{setting}: cannot connect to {redact(url)}: {reason}") from None


async def supervise(name: str, factory: Callable[[], Awaitable[None]], *,
                    backoff_s: float = 1.0, max_backoff_s: float = 30.0) -> None:
    """Run a background loop forever, restarting it with backoff when it crashes."""
    delay = backoff_s
    while True:
        try:
            await factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s crashed; restarting in %.1fs", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff_s)


@contextlib.asynccontextmanager
async def background(name: str, factory: Callable[[], Awaitable[None]]) -> Any:
    """Run `supervise(name, factory)` as a task for the duration of the block."""
    task = asyncio.create_task(supervise(name, factory), name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
