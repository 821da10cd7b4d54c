"""Ports the application needs; adapters implement them, tests fake them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Protocol

from tucano_tenants.domain.plans import Limits, Plan
from tucano_tenants.domain.tenants import Membership, Tenant


class PlanCatalogue(Protocol):
    async def list(self) -> list[Plan]: ...


class TenantRepository(Protocol):
    async def create(self, name: str, owner: uuid.UUID, request_id: uuid.UUID) -> Tenant:
        """Create a tenant owned by `owner` (publishing tenant.created); a retry with the same
        request_id returns the tenant created the first time."""
        ...

    async def abandon(self, tenant_id: uuid.UUID, owner: uuid.UUID, window: timedelta) -> bool:
        """Delete the tenant if `owner` is its only member and it is younger than `window`."""
        ...

    async def membership(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        ...

    async def memberships_of(self, user_id: uuid.UUID) -> list[Membership]: ...


class LimitsSource(Protocol):
    async def limits(self, tenant_id: uuid.UUID) -> Limits | None:
        """The tenant's effective limits, None if there is no such tenant."""
        ...
