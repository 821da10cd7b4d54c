"""Tenants and memberships."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tucano_kit.auth import Role

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
