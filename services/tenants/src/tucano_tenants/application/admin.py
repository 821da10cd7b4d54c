"""Handlers for tenant settings, lifecycle, plans, members and invitations.

Invitation tokens are 256-bit random strings handed out once; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from tucano_kit.auth import Role
from tucano_kit.errors import NotFound

from tucano_tenants.application.ports import TenantAdmin
from tucano_tenants.domain.tenants import (
    INVITATION_LIFETIME,
    Invitation,
    Membership,
    TenantDetails,
    TenantState,
    invitation_role_problem,
)

TOKEN_PREFIX = "inv_"


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def get_tenant(tenant_id: uuid.UUID, admin: TenantAdmin, *,
                     operator: bool = False) -> TenantDetails:
    details = await admin.details(tenant_id, operator=operator)
    if details is None:
        raise NotFound("TENANT_NOT_FOUND", "tenant not found")
    return details


async def close_tenant(tenant_id: uuid.UUID, confirm_name: str, admin: TenantAdmin) -> None:
    await admin.change_state(tenant_id, TenantState.CLOSED, "closed by its owner",
                             operator=False, confirm_name=confirm_name)


async def set_suspended(tenant_id: uuid.UUID, suspended: bool, reason: str,
                        admin: TenantAdmin) -> TenantDetails:
    new = TenantState.SUSPENDED if suspended else TenantState.ACTIVE
    return await admin.change_state(tenant_id, new, reason, operator=True)


@dataclass(frozen=True)
class CreateInvitation:
    tenant_id: uuid.UUID
    email: str
    role: Role
    actor: Role
    actor_id: uuid.UUID


async def create_invitation(cmd: CreateInvitation, admin: TenantAdmin, now: datetime
                            ) -> tuple[Invitation, str]:
    problem = invitation_role_problem(cmd.actor, cmd.role)
    if problem:
        raise problem
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    invitation = Invitation(id=uuid.uuid4(), tenant_id=cmd.tenant_id, email=cmd.email,
                            role=cmd.role, invited_by=cmd.actor_id, created_at=now,
                            expires_at=now + INVITATION_LIFETIME)
    await admin.create_invitation(invitation, token_digest(token))
    return invitation, token


def _usable_token(token: str) -> bytes:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise NotFound("INVITATION_NOT_FOUND", "this invitation does not exist")
    return token_digest(token)


async def peek_invitation(token: str, admin: TenantAdmin) -> tuple[Invitation, str]:
    return await admin.peek_invitation(_usable_token(token))


async def redeem_invitation(token: str, user_id: uuid.UUID, email: str,
                            admin: TenantAdmin) -> Membership:
    return await admin.redeem_invitation(_usable_token(token), user_id, email)
