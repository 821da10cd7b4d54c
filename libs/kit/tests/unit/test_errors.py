"""grpc.status.to_rpc_status / internal_status: the google.rpc.Status every caller sees."""

from __future__ import annotations

from typing import TypeVar

import pytest
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from tucano_kit.errors import (
    Aborted,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from tucano_kit.grpc.status import internal_status, to_rpc_status

M = TypeVar("M", bound=Message)


def details_of(status: status_pb2.Status, kind: type[M]) -> list[M]:
    found: list[M] = []
    for packed in status.details:
        if packed.Is(kind.DESCRIPTOR):
            message = kind()
            packed.Unpack(message)
            found.append(message)
    return found


@pytest.mark.parametrize(("error", "code"), [
    (NotFound("CAMPAIGN_NOT_FOUND", "no such campaign"), code_pb2.NOT_FOUND),
    (AlreadyExists("TENANT_EXISTS", "taken"), code_pb2.ALREADY_EXISTS),
    (Aborted("VERSION_CONFLICT", "retry"), code_pb2.ABORTED),
    (Unauthenticated("TOKEN_EXPIRED", "expired"), code_pb2.UNAUTHENTICATED),
    (PermissionDenied("ROLE_TOO_LOW", "no"), code_pb2.PERMISSION_DENIED),
    (Unavailable("GRAPH_API_DOWN", "later"), code_pb2.UNAVAILABLE),
    (ResourceExhausted("QUOTA", "slow down"), code_pb2.RESOURCE_EXHAUSTED),
    (FailedPrecondition("NOT_APPROVED", "template not approved"), code_pb2.FAILED_PRECONDITION),
    (InvalidArgument([FieldViolation("name", "is required")]), code_pb2.INVALID_ARGUMENT),
    (DomainError("WHATEVER", "base class"), code_pb2.UNKNOWN),
])
def test_each_error_maps_to_its_grpc_code_and_message(error: DomainError, code: int) -> None:
    status = to_rpc_status(error, "tenants.tucano.dev")

    assert status.code == code
    assert code_pb2.Code.Name(status.code) == error.code
    assert status.message == error.message


def test_every_status_carries_an_error_info_with_reason_domain_and_metadata() -> None:
    error = NotFound("CAMPAIGN_NOT_FOUND", "no such campaign", {"campaign_id": "c-1"})

    [info] = details_of(to_rpc_status(error, "campaigns.tucano.dev"),
                        error_details_pb2.ErrorInfo)

    assert info.reason == "CAMPAIGN_NOT_FOUND"
    assert info.domain == "campaigns.tucano.dev"
    assert dict(info.metadata) == {"campaign_id": "c-1"}


def test_invalid_argument_lists_every_field_violation_in_a_bad_request() -> None:
    error = InvalidArgument([FieldViolation("display_name", "is required"),
                             FieldViolation("contact.phone_number", "must be E.164")])

    status = to_rpc_status(error, "d")
    [bad_request] = details_of(status, error_details_pb2.BadRequest)
    [info] = details_of(status, error_details_pb2.ErrorInfo)

    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("display_name", "is required"), ("contact.phone_number", "must be E.164")]
    assert info.reason == "INVALID_ARGUMENT"
    assert "display_name: is required" in status.message
    assert "contact.phone_number: must be E.164" in status.message


def test_failed_precondition_carries_a_precondition_failure() -> None:
    error = FailedPrecondition("TEMPLATE_NOT_APPROVED", "template is pending",
                               {"subject": "templates/t-1"})

    [failure] = details_of(to_rpc_status(error, "d"), error_details_pb2.PreconditionFailure)

    [violation] = failure.violations
    assert (violation.type, violation.subject, violation.description) == (
        "TEMPLATE_NOT_APPROVED", "templates/t-1", "template is pending")


def test_resource_exhausted_with_retry_after_carries_retry_info() -> None:
    error = ResourceExhausted("RATE_LIMITED", "slow down", retry_after_s=1.5)

    [retry] = details_of(to_rpc_status(error, "d"), error_details_pb2.RetryInfo)

    assert retry.retry_delay.ToMilliseconds() == 1500


def test_resource_exhausted_without_retry_after_has_no_retry_info() -> None:
    status = to_rpc_status(ResourceExhausted("QUOTA_EXCEEDED", "monthly quota used up"), "d")

    assert details_of(status, error_details_pb2.RetryInfo) == []
    assert len(status.details) == 1  # the ErrorInfo only


def test_other_errors_carry_only_the_error_info() -> None:
    status = to_rpc_status(NotFound("X", "y"), "d")

    assert len(status.details) == 1
    assert details_of(status, error_details_pb2.BadRequest) == []


def test_internal_status_references_the_trace_and_nothing_else() -> None:
    status = internal_status("4bf92f3577b34da6a3ce929d0e0e4736")

    assert status.code == code_pb2.INTERNAL
    assert status.message == "internal error (trace 4bf92f3577b34da6a3ce929d0e0e4736)"
    assert len(status.details) == 0


def test_internal_status_without_a_trace_is_a_bare_internal_error() -> None:
    status = internal_status(None)

    assert (status.code, status.message, len(status.details)) == (
        code_pb2.INTERNAL, "internal error", 0)
