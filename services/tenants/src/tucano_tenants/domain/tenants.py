"""Tenants and memberships."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tucano_kit.auth import Role
from tucano_kit.errors import DomainError, FailedPrecondition, PermissionDenied

from tucano_tenants.domain.plans import Limits

MAX_NAME = 120
ABANDON_WINDOW = timedelta(minutes=10)
"""A failed signup may remove the tenant it created only this soon after creating it."""


class TenantState(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    name: str
    state: TenantState
    plan_id: str
    created_at: datetime


@dataclass(frozen=True)
class Membership:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    tenant_name: str
    tenant_state: TenantState
    created_at: datetime


def tenant_name_problem(name: str) -> str | None:
    """Why `name` cannot name a tenant, or None."""
    if not name.strip():
        return "is required"
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters"
    if any(ord(c) < 32 for c in name):
        return "must not contain control characters"
    return None


def role_change_problem(actor: Role, current: Role, new: Role, owners: int) -> DomainError | None:
    """Why `actor` may not move a member from `current` to `new` (owners: how many there are)."""
    if (new >= Role.ADMIN or current >= Role.ADMIN) and actor < Role.OWNER:
        return PermissionDenied("OWNER_REQUIRED", "only an owner grants or takes admin and owner")
    if current is Role.OWNER and new is not Role.OWNER and owners <= 1:
        return FailedPrecondition("LAST_OWNER", "the last owner cannot be demoted",
                                  {"subject": "owner"})
    return None


def removal_problem(actor: Role, target: Role, owners: int) -> DomainError | None:
    """Why `actor` may not remove a member whose role is `target`."""
    if target >= Role.ADMIN and actor < Role.OWNER:
        return PermissionDenied("OWNER_REQUIRED", "only an owner removes admins and owners")
    if target is Role.OWNER and owners <= 1:
        return FailedPrecondition("LAST_OWNER", "the last owner cannot be removed",
                                  {"subject": "owner"})
    return None


def invitation_role_problem(actor: Role, role: Role) -> DomainError | None:
    if role is Role.OWNER:
        return FailedPrecondition("INVITE_AS_OWNER",
                                  "invite as admin, then make the member an owner",
                                  {"subject": "role"})
    if role is Role.ADMIN and actor < Role.OWNER:
        return PermissionDenied("OWNER_REQUIRED", "only an owner invites admins")
    return None


def state_change_problem(current: TenantState, new: TenantState) -> DomainError | None:
    """Suspend: active -> suspended; reactivate: suspended -> active; closed is final."""
    if current is TenantState.CLOSED:
        return FailedPrecondition("TENANT_CLOSED", "the tenant is closed", {"subject": "tenant"})
    allowed = {(TenantState.ACTIVE, TenantState.SUSPENDED),
               (TenantState.SUSPENDED, TenantState.ACTIVE),
               (TenantState.ACTIVE, TenantState.CLOSED),
               (TenantState.SUSPENDED, TenantState.CLOSED)}
    if (current, new) not in allowed:
        return FailedPrecondition("STATE_UNCHANGED", f"the tenant is already {current.value}",
                                  {"subject": "tenant"})
    return None


@dataclass(frozen=True)
class TenantSettings:
    name: str
    default_country: str
    timezone: str
    cors_origins: list[str]


@dataclass(frozen=True)
class TenantDetails:
    tenant: Tenant
    settings: TenantSettings
    limits: Limits
    state_reason: str


@dataclass(frozen=True)
class Invitation:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    invited_by: uuid.UUID
    created_at: datetime
    expires_at: datetime


INVITATION_LIFETIME = timedelta(days=7)
MAX_CORS_ORIGINS = 10
