"""OpenTelemetry tracing: a provider per process, exporting over OTLP only when configured.

Trace context crosses process boundaries as W3C `traceparent`: in gRPC metadata (the server
interceptor extracts it) and in AMQP message headers (`inject_headers` / `extract_headers`).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(service: str, otlp_endpoint: str) -> TracerProvider:
    """Install a tracer provider for `service`; spans are exported only if an endpoint is set."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"tucano-{service}"}))
    if otlp_endpoint:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers(headers: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Write the current trace context into message headers (AMQP) and return them."""
    propagate.inject(headers)
    return headers


def extract_context(carrier: Mapping[str, Any]) -> otel_context.Context:
    """The trace context found in headers or metadata (missing keys give a fresh context)."""
    return propagate.extract({k: v for k, v in carrier.items() if isinstance(v, str)})


def current_trace_id() -> str | None:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None
