"""Ports the application needs; adapters implement them, tests fake them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from tucano_kit.auth import Role

from tucano_tenants.domain.plans import Limits, Plan
from tucano_tenants.domain.ratelimit import Consumption, Slot
from tucano_tenants.domain.tenants import (
    Invitation,
    Membership,
    Tenant,
    TenantDetails,
    TenantState,
)


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


class TenantAdmin(Protocol):
    """Settings, lifecycle, plans, members and invitations (see the Postgres adapter)."""

    async def details(self, tenant_id: uuid.UUID, *, operator: bool = False
                      ) -> TenantDetails | None: ...

    async def update_settings(self, tenant_id: uuid.UUID, changes: dict[str, object]
                              ) -> TenantDetails: ...

    async def change_state(self, tenant_id: uuid.UUID, new: TenantState, reason: str, *,
                           operator: bool, confirm_name: str | None = None
                           ) -> TenantDetails: ...

    async def list_all(self, limit: int, after: tuple[datetime, uuid.UUID] | None,
                       state: TenantState | None) -> list[TenantDetails]: ...

    async def set_plan(self, tenant_id: uuid.UUID, plan_id: str,
                       overrides: dict[str, int | None]) -> TenantDetails: ...

    async def members(self, tenant_id: uuid.UUID) -> list[Membership]: ...

    async def change_role(self, tenant_id: uuid.UUID, user_id: uuid.UUID, new: Role,
                          actor: Role) -> Membership: ...

    async def remove_member(self, tenant_id: uuid.UUID, user_id: uuid.UUID, actor: Role
                            ) -> None: ...

    async def create_invitation(self, invitation: Invitation, token_sha256: bytes) -> None: ...

    async def pending_invitations(self, tenant_id: uuid.UUID) -> list[Invitation]: ...

    async def revoke_invitation(self, tenant_id: uuid.UUID, invitation_id: uuid.UUID
                                ) -> None: ...

    async def peek_invitation(self, token_sha256: bytes) -> tuple[Invitation, str]: ...

    async def redeem_invitation(self, token_sha256: bytes, user_id: uuid.UUID, email: str
                                ) -> Membership: ...


class CounterUnavailable(Exception):
    """A counter's store did not answer in time (or at all)."""


class Counter(Protocol):
    """Rate-limit counters (Redis, shared by every process; or in-process)."""

    async def consume(self, slots: Sequence[Slot], hits: int, now: float) -> Consumption:
        """Count `hits` in the window of `now` of every slot if all of them have room, else in
        none, atomically with respect to everyone sharing the counter. Raises
        CounterUnavailable when the store cannot answer within its timeout."""
        ...
