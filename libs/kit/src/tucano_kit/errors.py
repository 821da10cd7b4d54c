"""The error taxonomy services raise, and its mapping to google.rpc.Status.

    DomainError                 base: reason (UPPER_SNAKE), message, metadata
    ├── InvalidArgument         field violations -> INVALID_ARGUMENT + BadRequest
    ├── FailedPrecondition      state forbids the action + PreconditionFailure
    ├── NotFound                unknown or not visible to the caller's tenant
    ├── AlreadyExists
    ├── Aborted                 concurrency conflict, retry the read-modify-write
    ├── Unauthenticated
    ├── PermissionDenied
    ├── ResourceExhausted       quota or rate limit (+ RetryInfo when retry_after_s is set)
    └── Unavailable             a dependency is down; clients may retry

Handlers and domain code raise these; adapters translate foreign exceptions into them; the gRPC
error interceptor calls `to_rpc_status`. Anything else becomes INTERNAL with no internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path in the request (e.g. `contact.phone_number`) and why."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a service reports to its callers on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, reason: str, message: str, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Sequence[FieldViolation], message: str | None = None):
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__("INVALID_ARGUMENT", message or f"invalid request: {summary}")
        self.violations = list(violations)


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class Aborted(DomainError):
    code = grpc.StatusCode.ABORTED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, reason: str, message: str, metadata: Mapping[str, str] | None = None,
                 retry_after_s: float | None = None):
        super().__init__(reason, message, metadata)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE


@dataclass
class _Details:
    items: list[any_pb2.Any] = field(default_factory=list)

    def add(self, message: object) -> None:
        packed = any_pb2.Any()
        packed.Pack(message)  # type: ignore[arg-type]
        self.items.append(packed)


def to_rpc_status(error: DomainError, domain: str) -> status_pb2.Status:
    """The google.rpc.Status for a domain error: always an ErrorInfo, plus typed details."""
    details = _Details()
    details.add(error_details_pb2.ErrorInfo(
        reason=error.reason, domain=domain, metadata=error.metadata))
    if isinstance(error, InvalidArgument):
        details.add(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations]))
    elif isinstance(error, FailedPrecondition):
        details.add(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=error.reason, subject=error.metadata.get("subject", ""),
                description=error.message)]))
    elif isinstance(error, ResourceExhausted) and error.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_s * 1000))
        details.add(error_details_pb2.RetryInfo(retry_delay=delay))
    return status_pb2.Status(code=error.code.value[0], message=error.message,
                             details=details.items)


def internal_status(trace_id: str | None) -> status_pb2.Status:
    """What callers see for an unexpected exception: a reference to the trace, no internals."""
    ref = f" (trace {trace_id})" if trace_id else ""
    return status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error{ref}")
