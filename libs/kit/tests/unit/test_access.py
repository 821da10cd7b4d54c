"""auth: roles, the per-RPC access matrix, claims and bearer headers (no I/O)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tucano_kit.auth import (
    Access,
    Caller,
    Role,
    bearer_token,
    caller_from_claims,
    current_caller,
    set_caller,
)
from tucano_kit.errors import DomainError, PermissionDenied, Unauthenticated

MEMBER = Caller(subject="u-1", tenant_id="t-1", role=Role.OPERATOR, session_id="s-1",
                token_id="j-1")
SERVICE = Caller(subject="svc:campaigns", tenant_id=None, role=None, session_id=None,
                 token_id="j-2", is_service=True)
OPERATOR = Caller(subject="ops-1", tenant_id=None, role=None, session_id="s-3", token_id="j-3",
                  is_platform_operator=True)
NO_TENANT = Caller(subject="u-2", tenant_id=None, role=None, session_id="s-4", token_id="j-4")


def test_roles_are_ordered_each_including_the_ones_below() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN < Role.OWNER
    assert sorted([Role.OWNER, Role.VIEWER, Role.ADMIN, Role.OPERATOR]) == list(Role)


def test_roles_parse_case_insensitively_and_reject_unknown_names() -> None:
    assert Role.parse("admin") is Role.ADMIN
    assert Role.parse("Owner") is Role.OWNER
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("superadmin")


def denial(access: Access, caller: Caller | None) -> tuple[type[DomainError], str] | None:
    try:
        access.authorize(caller)
    except DomainError as exc:
        return type(exc), exc.reason
    return None


@pytest.mark.parametrize(("access", "caller", "expected"), [
    (Access.public(), None, None),
    (Access.public(), MEMBER, None),
    (Access.tenant(Role.VIEWER), MEMBER, None),
    (Access.tenant(Role.OPERATOR), MEMBER, None),
    (Access.tenant(Role.ADMIN), MEMBER, (PermissionDenied, "ROLE_TOO_LOW")),
    (Access.tenant(Role.OWNER), MEMBER, (PermissionDenied, "ROLE_TOO_LOW")),
    (Access.tenant(Role.VIEWER), NO_TENANT, (PermissionDenied, "TENANT_REQUIRED")),
    (Access.tenant(Role.VIEWER), SERVICE, (PermissionDenied, "TENANT_REQUIRED")),
    (Access.tenant(Role.VIEWER), OPERATOR, (PermissionDenied, "TENANT_REQUIRED")),
    (Access.tenant(Role.VIEWER), None, (Unauthenticated, "UNAUTHENTICATED")),
    (Access.service(), SERVICE, None),
    (Access.service(), MEMBER, (PermissionDenied, "SERVICE_ONLY")),
    (Access.service(), OPERATOR, (PermissionDenied, "SERVICE_ONLY")),
    (Access.service(), None, (Unauthenticated, "UNAUTHENTICATED")),
    (Access.platform_operator(), OPERATOR, None),
    (Access.platform_operator(), MEMBER, (PermissionDenied, "PLATFORM_OPERATOR_ONLY")),
    (Access.platform_operator(), SERVICE, (PermissionDenied, "PLATFORM_OPERATOR_ONLY")),
    (Access.platform_operator(), None, (Unauthenticated, "UNAUTHENTICATED")),
])
def test_access_matrix(access: Access, caller: Caller | None,
                       expected: tuple[type[DomainError], str] | None) -> None:
    assert denial(access, caller) == expected


def test_role_too_low_names_both_roles() -> None:
    with pytest.raises(PermissionDenied) as caught:
        Access.tenant(Role.ADMIN).authorize(replace(MEMBER, role=Role.VIEWER))

    assert caught.value.metadata == {"required_role": "admin", "caller_role": "viewer"}


def test_a_tenant_caller_needs_a_role_as_well_as_a_tenant() -> None:
    assert denial(Access.tenant(Role.VIEWER), replace(MEMBER, role=None)) == (
        PermissionDenied, "TENANT_REQUIRED")


def test_require_tenant() -> None:
    assert MEMBER.require_tenant() == "t-1"
    with pytest.raises(PermissionDenied):
        NO_TENANT.require_tenant()


def test_current_caller_outside_an_rpc_is_unauthenticated() -> None:
    set_caller(None)
    with pytest.raises(Unauthenticated):
        current_caller()
    set_caller(MEMBER)
    try:
        assert current_caller() is MEMBER
    finally:
        set_caller(None)


def test_claims_map_to_a_caller() -> None:
    caller = caller_from_claims({"sub": "u-1", "tid": "t-1", "role": "admin", "sid": "s-1",
                                 "jti": "j-1", "op": False})

    assert caller == Caller(subject="u-1", tenant_id="t-1", role=Role.ADMIN, session_id="s-1",
                            token_id="j-1", is_service=False, is_platform_operator=False)


@pytest.mark.parametrize("claims", [
    {"sub": "u-1", "jti": "j-1", "role": "emperor"},
    {"sub": "u-1"},
    {"jti": "j-1"},
    {"sub": "u-1", "jti": "j-1", "op": "false"},  # a string is not a boolean
    {"sub": "u-1", "jti": "j-1", "op": 1},
])
def test_malformed_claims_are_rejected(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        caller_from_claims(claims)

    assert caught.value.reason == "INVALID_TOKEN"


@pytest.mark.parametrize(("metadata", "token"), [
    ({"authorization": "Bearer abc.def.ghi"}, "abc.def.ghi"),
    ({"authorization": "bearer   abc "}, "abc"),
    ({"authorization": "Basic dXNlcjpwdw=="}, None),
    ({"authorization": "Bearer "}, None),
    ({"authorization": "Bearer"}, None),
    ({}, None),
])
def test_bearer_token(metadata: dict[str, str], token: str | None) -> None:
    assert bearer_token(metadata) == token
