"""One server interceptor that gives every RPC the same envelope, in this order:

1. request context: `x-request-id` from metadata (or a new one), the W3C trace context, a span;
2. authentication and access: the method's `Access` from the service's policy, the caller
   verified from `authorization: Bearer …` and stored in a contextvar for handlers;
3. error mapping: DomainError -> google.rpc.Status (code, message, ErrorInfo + typed details in
   `grpc-status-details-bin`); any other exception -> INTERNAL naming only the trace id;
4. one access-log line per RPC with method, code and duration.

Health and reflection RPCs are public. Methods without a policy entry are refused at start-up
(`GrpcServer.start`), so they never reach this interceptor unguarded.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace

from tucano_kit import context
from tucano_kit.auth import (
    Access,
    Caller,
    Policy,
    TenantGate,
    TokenVerifier,
    bearer_token,
    check_standing,
    set_caller,
    set_standing,
)
from tucano_kit.errors import DomainError, FieldViolation, InvalidArgument
from tucano_kit.grpc.status import internal_status, to_rpc_status
from tucano_kit.telemetry import current_trace_id, extract_context

log = logging.getLogger("tucano.grpc")
_tracer = trace.get_tracer("tucano_kit.grpc")

PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class RequestInterceptor(grpc.aio.ServerInterceptor):
    """Context, auth, error mapping and access logging for every RPC of one server."""

    def __init__(self, *, domain: str, policy: Policy, verifier: TokenVerifier | None,
                 gate: TenantGate | None = None):
        self._domain = domain
        self._policy = policy
        self._verifier = verifier
        self._gate = gate

    def access_for(self, method: str) -> Access:
        if method.startswith(PUBLIC_PREFIXES):
            return Access.public()
        access = self._policy.get(method)
        if access is None:  # unreachable for registered services; defensive for unknown names
            return Access.service()
        return access

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        access = self.access_for(method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, access, handler.unary_unary),
                _tolerant(handler.request_deserializer), handler.response_serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap_unary(method, access, handler.stream_unary),
                handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, access, handler.unary_stream),
                handler.request_deserializer, handler.response_serializer)
        return grpc.stream_stream_rpc_method_handler(
            self._wrap_stream(method, access, handler.stream_stream),
            handler.request_deserializer, handler.response_serializer)

    def _wrap_unary(self, method: str, access: Access,
                    behaviour: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        async def wrapped(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            async with _Envelope(self, method, access, ctx):
                if isinstance(request, _Undecodable):
                    raise InvalidArgument([FieldViolation(request.field, request.reason)])
                return await behaviour(request, ctx)
            return None  # unreachable: the envelope re-raises or aborts

        return wrapped

    def _wrap_stream(self, method: str, access: Access,
                     behaviour: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
        async def wrapped(request: Any, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with _Envelope(self, method, access, ctx):
                async for item in behaviour(request, ctx):
                    yield item

        return wrapped

    async def authenticate(self, access: Access, metadata: dict[str, str]) -> Caller | None:
        token = bearer_token(metadata)
        if token is None or self._verifier is None:
            caller = None
        elif access.kind == "public":
            # A public RPC ignores a bad token rather than failing a call that needs none.
            try:
                caller = await self._verifier.verify(token)
            except DomainError:
                caller = None
        else:
            caller = await self._verifier.verify(token)
        access.authorize(caller)
        if access.kind == "tenant" and self._gate is not None and caller is not None \
                and caller.tenant_id is not None:
            standing = await self._gate.standing(caller.tenant_id)
            check_standing(access, caller.tenant_id, standing.state)
            set_standing(standing)
        return caller


class _Envelope:
    """The per-call part of RequestInterceptor, as an async context manager."""

    def __init__(self, owner: RequestInterceptor, method: str, access: Access,
                 ctx: grpc.aio.ServicerContext):
        self.owner, self.method, self.access, self.ctx = owner, method, access, ctx
        self.code = grpc.StatusCode.OK
        self.started = time.perf_counter()
        self.metadata = {k: v for k, v in (ctx.invocation_metadata() or ())
                         if isinstance(v, str)}

    async def __aenter__(self) -> _Envelope:
        self.tokens = [
            context.request_id.set(self.metadata.get("x-request-id") or str(uuid.uuid4())),
            context.tenant_id.set(None),
        ]
        self.otel_token = otel_context.attach(extract_context(self.metadata))
        self.span_cm = _tracer.start_as_current_span(self.method, kind=trace.SpanKind.SERVER)
        self.span = self.span_cm.__enter__()
        try:
            caller = await self.owner.authenticate(self.access, self.metadata)
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        set_caller(caller)
        if caller is not None:
            context.tenant_id.set(caller.tenant_id)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        try:
            if exc is not None and not isinstance(exc, grpc.aio.AbortError):
                await self._abort(exc)
            elif exc is not None:  # the servicer aborted by itself
                code = self.ctx.code()
                self.code = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
        finally:
            self._log()
            self.span_cm.__exit__(None, None, None)
            otel_context.detach(self.otel_token)
            set_caller(None)
            set_standing(None)
            context.tenant_id.reset(self.tokens[1])
            context.request_id.reset(self.tokens[0])
        return False

    async def _abort(self, exc: BaseException) -> None:
        if isinstance(exc, DomainError):
            status = to_rpc_status(exc, self.owner._domain)
        else:
            log.error("unhandled error in %s", self.method, exc_info=exc)
            status = internal_status(current_trace_id(), context.request_id.get())
        self.span.set_attribute("rpc.grpc.status_code", status.code)
        self.code = grpc.StatusCode(_code_tuple(status.code))
        self._log()
        self.logged = True
        await self.ctx.abort(**_abort_args(status))

    def _log(self) -> None:
        if getattr(self, "logged", False):
            return
        self.logged = True
        # Internal RPCs (the edge's rate-limit checks, other services' gates) come with every
        # API request and are logged by their callers; keep them out of the INFO stream.
        level = logging.DEBUG if self.access.kind == "public" and not self.access.edge \
            else logging.INFO
        log.log(level, "rpc", extra={
            "rpc_method": self.method, "grpc_code": self.code.name,
            "duration_ms": round((time.perf_counter() - self.started) * 1000, 2)})


class _Undecodable:
    """Stands in for a request whose bytes did not parse, so that the envelope can answer
    INVALID_ARGUMENT (gRPC itself would answer INTERNAL)."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = raw[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def non_utf8_field(raw: bytes, descriptor: Descriptor, prefix: str = "") -> str | None:
    """The path (e.g. `contact.display_name`) of the first string field in the encoded message
    `raw` whose bytes are not UTF-8, or None. protobuf refuses such a message without naming
    the field; this walks the wire format to name it."""
    pos = 0
    while pos < len(raw):
        key, pos = _varint(raw, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = _varint(raw, pos)
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, pos = _varint(raw, pos)
            chunk, pos = raw[pos:pos + length], pos + length
            field = descriptor.fields_by_number.get(number)
            if field is None:
                continue
            name = prefix + field.name
            if field.type == FieldDescriptor.TYPE_STRING:
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError:
                    return name
            elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
                found = non_utf8_field(chunk, field.message_type, name + ".")
                if found:
                    return found
        else:
            return None  # groups: not in proto3
    return None


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    message_class = getattr(deserializer, "__self__", None)  # Request.FromString's class
    descriptor = getattr(message_class, "DESCRIPTOR", None)

    def parse(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:  # DecodeError, or invalid UTF-8 in a string field
            field = None
            if isinstance(descriptor, Descriptor):
                with contextlib.suppress(IndexError):
                    field = non_utf8_field(raw, descriptor)
            if field is not None:
                return _Undecodable(field, "is not valid UTF-8")
            return _Undecodable("request", "is not a valid message")

    return parse


def _code_tuple(number: int) -> Any:
    return next(c.value for c in grpc.StatusCode if c.value[0] == number)


def _abort_args(status: Any) -> dict[str, Any]:
    grpc_status = rpc_status.to_status(status)
    return {"code": grpc_status.code, "details": grpc_status.details,
            "trailing_metadata": grpc_status.trailing_metadata}
