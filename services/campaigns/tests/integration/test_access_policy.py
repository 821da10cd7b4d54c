"""Every RPC: the lowest role its policy allows gets through, the role below is refused."""

from __future__ import annotations

import uuid

import grpc.aio
import pytest
from tucano.campaigns.v1 import contacts_pb2
from tucano_campaigns.entrypoints.grpc.policy import POLICY
from tucano_kit.testing import TokenFactory, check_access_policy

pytestmark = pytest.mark.integration


async def test_every_rpc_enforces_its_policy(campaigns: tuple[object, grpc.aio.Channel],
                                             tokens: TokenFactory) -> None:
    async def mint(role: str | None, service: bool) -> str | None:
        if service:
            return tokens.token(role=None, subject="service:test", typ="service")
        return tokens.token(tenant_id=str(uuid.uuid4()), role=role) if role else None

    service = contacts_pb2.DESCRIPTOR.services_by_name["ContactsService"]
    assert await check_access_policy(campaigns[1], service, POLICY, mint) == []


# The role matrix of ARCHITECTURE.md for this service, pinned: a policy edit shows up here.
EXPECTED = {
    "CreateContact": ('tenant', 'OPERATOR'),
    "ImportContacts": ('tenant', 'OPERATOR'),
    "GetContact": ('tenant', 'VIEWER'),
    "ListContacts": ('tenant', 'VIEWER'),
}


def test_the_policy_is_the_role_matrix() -> None:
    assert {name.rsplit("/", 1)[1]: (access.kind, access.min_role.name if access.min_role
                                     else None) for name, access in POLICY.items()} == EXPECTED
