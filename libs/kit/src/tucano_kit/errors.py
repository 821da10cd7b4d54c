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

Handlers and domain code raise these; adapters translate foreign exceptions into them. This
module imports no transport: `tucano_kit.grpc.status` maps them to google.rpc.Status, and the
gRPC interceptor sends that. Anything else becomes INTERNAL with no internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path in the request (e.g. `contact.phone_number`) and why."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a service reports to its callers on purpose."""

    code: str = "UNKNOWN"  # a google.rpc.Code name

    def __init__(self, reason: str, message: str, metadata: Mapping[str, str] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})


class InvalidArgument(DomainError):
    code = "INVALID_ARGUMENT"

    def __init__(self, violations: Sequence[FieldViolation], message: str | None = None):
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__("INVALID_ARGUMENT", message or f"invalid request: {summary}")
        self.violations = list(violations)


class FailedPrecondition(DomainError):
    code = "FAILED_PRECONDITION"


class NotFound(DomainError):
    code = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"


class Aborted(DomainError):
    code = "ABORTED"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class ResourceExhausted(DomainError):
    code = "RESOURCE_EXHAUSTED"

    def __init__(self, reason: str, message: str, metadata: Mapping[str, str] | None = None,
                 retry_after_s: float | None = None):
        super().__init__(reason, message, metadata)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    code = "UNAVAILABLE"
