"""Every RPC: the lowest role its policy allows gets through, the role below is refused."""

from __future__ import annotations

import uuid

import grpc.aio
import pytest
from tucano.auth.v1 import auth_pb2
from tucano_auth.bootstrap import App
from tucano_auth.entrypoints.grpc.policy import POLICY
from tucano_kit.testing import check_access_policy

pytestmark = pytest.mark.integration


async def test_every_rpc_enforces_its_policy(auth: tuple[App, grpc.aio.Channel]) -> None:
    app, channel = auth

    async def mint(role: str | None, service: bool) -> str | None:
        if service:
            return await app.signer.sign(subject="service:test", extra={"typ": "service"})
        if role is None:
            return None
        return await app.signer.sign(subject=str(uuid.uuid4()), tenant_id=str(uuid.uuid4()),
                                     role=role, session_id=str(uuid.uuid4()))

    service = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
    assert await check_access_policy(channel, service, POLICY, mint) == []


# The role matrix of ARCHITECTURE.md for this service, pinned: a policy edit shows up here.
EXPECTED = {
    "GetJwks": ('public', None),
    "Signup": ('public', None),
    "Login": ('public', None),
    "Refresh": ('public', None),
    "AcceptInvitation": ('public', None),
    "IssueServiceToken": ('public', None),
    "Logout": ('tenant', 'VIEWER'),
    "LogoutAll": ('tenant', 'VIEWER'),
    "SwitchTenant": ('tenant', 'VIEWER'),
    "ChangePassword": ('tenant', 'VIEWER'),
    "GetMe": ('tenant', 'VIEWER'),
}


def test_the_policy_is_the_role_matrix() -> None:
    assert {name.rsplit("/", 1)[1]: (access.kind, access.min_role.name if access.min_role
                                     else None) for name, access in POLICY.items()} == EXPECTED
    assert [name for name, access in POLICY.items() if not access.edge] == [
        "/tucano.auth.v1.AuthService/IssueServiceToken"]
