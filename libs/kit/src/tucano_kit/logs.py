"""JSON logs on stderr, one object per line, carrying request_id, trace_id and tenant_id."""

from __future__ import annotations

import logging
import sys
from typing import IO

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from tucano_kit import context


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        record.tenant_id = context.tenant_id.get()
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        return True


def json_handler(service: str, stream: IO[str]) -> logging.Handler:
    """A handler writing each record to `stream` as one JSON object per line, with the
    request's context (request_id, trace_id, tenant_id)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        static_fields={"service": service},
    ))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger to one JSON handler on stderr; idempotent."""
    handler = json_handler(service, sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aio-pika and aiormq log every reconnect attempt at INFO with tracebacks; keep them terse.
    for noisy in ("aiormq", "aio_pika", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # aiormq logs each failed connect at ERROR; the caller reports it (start-up: one
    # ConfigError line; later: aio-pika's own "reconnecting" warning), so this is a duplicate.
    logging.getLogger("aiormq.connection").addFilter(
        lambda record: not record.getMessage().startswith("error when creating transport"))
