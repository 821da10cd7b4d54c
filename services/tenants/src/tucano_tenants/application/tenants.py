"""Tenant lifecycle and membership handlers."""

from __future__ import annotations

import uuid

from tucano_kit.errors import FailedPrecondition, NotFound

from tucano_tenants.application.ports import TenantRepository
from tucano_tenants.domain.tenants import ABANDON_WINDOW, Membership, Tenant, TenantState


async def create_tenant(name: str, owner: uuid.UUID, request_id: uuid.UUID,
                        tenants: TenantRepository) -> Tenant:
    return await tenants.create(name.strip(), owner, request_id)


async def abandon_tenant(tenant_id: uuid.UUID, owner: uuid.UUID,
                         tenants: TenantRepository) -> None:
    if not await tenants.abandon(tenant_id, owner, ABANDON_WINDOW):
        raise FailedPrecondition(
            "TENANT_NOT_ABANDONABLE",
            "only a tenant created moments ago whose sole member is its owner can be abandoned",
            {"subject": str(tenant_id)})


async def get_membership(tenant_id: uuid.UUID, user_id: uuid.UUID,
                         tenants: TenantRepository) -> Membership:
    """An active membership of a tenant that is not closed."""
    membership = await tenants.membership(tenant_id, user_id)
    if membership is None or membership.tenant_state is TenantState.CLOSED:
        raise NotFound("MEMBERSHIP_NOT_FOUND", "the user is not a member of this tenant")
    return membership


async def list_user_memberships(user_id: uuid.UUID, tenants: TenantRepository
                                ) -> list[Membership]:
    return [m for m in await tenants.memberships_of(user_id)
            if m.tenant_state is not TenantState.CLOSED]
