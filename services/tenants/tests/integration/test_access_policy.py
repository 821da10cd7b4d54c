"""Every RPC: the lowest role its policy allows gets through, the role below is refused."""

from __future__ import annotations

import uuid

import grpc.aio
import pytest
from tucano.tenants.v1 import tenants_pb2
from tucano_kit.testing import TokenFactory, check_access_policy
from tucano_tenants.entrypoints.grpc.policy import POLICY

pytestmark = pytest.mark.integration


async def test_every_rpc_enforces_its_policy(tenants: tuple[object, grpc.aio.Channel],
                                             tokens: TokenFactory) -> None:
    async def mint(role: str | None, service: bool) -> str | None:
        if service:
            return tokens.token(role=None, subject="service:test", typ="service")
        if role == "platform_operator":
            return tokens.token(tenant_id=str(uuid.uuid4()), role="owner", op=True)
        return tokens.token(tenant_id=str(uuid.uuid4()), role=role) if role else None

    service = tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"]
    assert await check_access_policy(tenants[1], service, POLICY, mint) == []


# The role matrix of ARCHITECTURE.md for this service, pinned: a policy edit shows up here.
EXPECTED = {
    "ListPlans": ("public", None),
    "CreateTenant": ("service", None),
    "AbandonTenant": ("service", None),
    "GetMembership": ("service", None),
    "ListUserMemberships": ("service", None),
    "GetTenantStanding": ("public", None),
    "PeekInvitation": ("service", None),
    "RedeemInvitation": ("service", None),
    "GetTenant": ("tenant", "VIEWER"),
    "UpdateTenant": ("tenant", "OWNER"),
    "CloseTenant": ("tenant", "OWNER"),
    "ListMembers": ("tenant", "ADMIN"),
    "UpdateMember": ("tenant", "ADMIN"),
    "RemoveMember": ("tenant", "ADMIN"),
    "CreateInvitation": ("tenant", "ADMIN"),
    "ListInvitations": ("tenant", "ADMIN"),
    "RevokeInvitation": ("tenant", "ADMIN"),
    "ListTenants": ("platform_operator", None),
    "SuspendTenant": ("platform_operator", None),
    "ReactivateTenant": ("platform_operator", None),
    "UpdateTenantPlan": ("platform_operator", None),
    "ShouldRateLimit": ("public", None),  # Envoy's RLS: Access.internal(), not routed
}


def test_the_policy_is_the_role_matrix() -> None:
    assert {name.rsplit("/", 1)[1]: (access.kind, access.min_role.name if access.min_role
                                     else None) for name, access in POLICY.items()} == EXPECTED
