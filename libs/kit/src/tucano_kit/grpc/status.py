"""Domain errors as google.rpc.Status: a pure mapping, used by the gRPC interceptor."""

from __future__ import annotations

from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from tucano_kit.errors import DomainError, FailedPrecondition, InvalidArgument, ResourceExhausted


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_rpc_status(error: DomainError, domain: str) -> status_pb2.Status:
    """The google.rpc.Status for a domain error: always an ErrorInfo, plus typed details."""
    details = [_pack(error_details_pb2.ErrorInfo(
        reason=error.reason, domain=domain, metadata=error.metadata))]
    if isinstance(error, InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations])))
    elif isinstance(error, FailedPrecondition):
        details.append(_pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type=error.reason, subject=error.metadata.get("subject", ""),
                description=error.message)])))
    elif isinstance(error, ResourceExhausted) and error.retry_after_s is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(error.retry_after_s * 1000))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=code_pb2.Code.Value(error.code), message=error.message,
                             details=details)


def internal_status(trace_id: str | None, request_id: str | None = None) -> status_pb2.Status:
    """What callers see for an unexpected exception: a reference to find it in the logs (the
    trace id, else the request id), no internals."""
    ref = f" (trace {trace_id})" if trace_id else f" (request {request_id})" if request_id else ""
    return status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error{ref}")
