"""Membership, invitation, lifecycle and settings rules of the tenants domain."""

from __future__ import annotations

import pytest
from tucano_kit.auth import Role
from tucano_tenants.domain.settings_rules import is_origin, settings_problems
from tucano_tenants.domain.tenants import (
    TenantState,
    invitation_role_problem,
    removal_problem,
    role_change_problem,
    state_change_problem,
)


def reason(problem: object) -> str | None:
    return getattr(problem, "reason", None)


@pytest.mark.parametrize(("actor", "current", "new", "owners", "expected"), [
    (Role.ADMIN, Role.OPERATOR, Role.VIEWER, 1, None),
    (Role.ADMIN, Role.VIEWER, Role.ADMIN, 1, "OWNER_REQUIRED"),
    (Role.ADMIN, Role.ADMIN, Role.VIEWER, 1, "OWNER_REQUIRED"),
    (Role.OWNER, Role.VIEWER, Role.OWNER, 1, None),
    (Role.OWNER, Role.OWNER, Role.ADMIN, 1, "LAST_OWNER"),
    (Role.OWNER, Role.OWNER, Role.ADMIN, 2, None),
])
def test_who_may_change_which_role(actor: Role, current: Role, new: Role, owners: int,
                                   expected: str | None) -> None:
    assert reason(role_change_problem(actor, current, new, owners)) == expected


@pytest.mark.parametrize(("actor", "target", "owners", "expected"), [
    (Role.ADMIN, Role.OPERATOR, 1, None),
    (Role.ADMIN, Role.ADMIN, 1, "OWNER_REQUIRED"),
    (Role.OWNER, Role.OWNER, 1, "LAST_OWNER"),
    (Role.OWNER, Role.OWNER, 3, None),
])
def test_who_may_remove_whom(actor: Role, target: Role, owners: int,
                             expected: str | None) -> None:
    assert reason(removal_problem(actor, target, owners)) == expected


def test_invitations_offer_at_most_admin_and_only_owners_offer_admin() -> None:
    assert reason(invitation_role_problem(Role.OWNER, Role.OWNER)) == "INVITE_AS_OWNER"
    assert reason(invitation_role_problem(Role.ADMIN, Role.ADMIN)) == "OWNER_REQUIRED"
    assert invitation_role_problem(Role.OWNER, Role.ADMIN) is None
    assert invitation_role_problem(Role.ADMIN, Role.VIEWER) is None


def test_lifecycle_moves_and_closed_is_final() -> None:
    assert state_change_problem(TenantState.ACTIVE, TenantState.SUSPENDED) is None
    assert state_change_problem(TenantState.SUSPENDED, TenantState.ACTIVE) is None
    assert reason(state_change_problem(TenantState.ACTIVE, TenantState.ACTIVE)) == (
        "STATE_UNCHANGED")
    assert reason(state_change_problem(TenantState.CLOSED, TenantState.ACTIVE)) == (
        "TENANT_CLOSED")


@pytest.mark.parametrize(("origin", "ok"), [
    ("https://app.example.com", True), ("https://app.example.com:8443", True),
    ("http://localhost:3000", True), ("http://app.example.com", False),
    ("https://app.example.com/", False), ("https://app.example.com/path", False),
    ("app.example.com", False), ("https://", False)])
def test_cors_origins_are_bare_https_origins(origin: str, ok: bool) -> None:
    assert is_origin(origin) is ok


def test_settings_problems_name_each_bad_field() -> None:
    assert settings_problems("Acme", "BR", "America/Sao_Paulo", ["https://a.example"]) == {}
    assert set(settings_problems("", "ZZ", "Nowhere/City", ["ftp://x"])) == {
        "name", "default_country", "timezone", "cors_origins"}
