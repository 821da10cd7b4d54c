"""Every RPC of the gateway is public (Meta carries no token); the handlers authenticate."""

from __future__ import annotations

import grpc.aio
import pytest
from tucano.webhooks.v1 import webhooks_pb2
from tucano_kit.testing import check_access_policy
from tucano_webhooks_gateway.entrypoints.grpc.policy import POLICY

pytestmark = pytest.mark.integration


async def test_every_rpc_enforces_its_policy(webhooks: tuple[object, grpc.aio.Channel]) -> None:
    async def mint(role: str | None, service: bool) -> str | None:
        return None

    service = webhooks_pb2.DESCRIPTOR.services_by_name["WebhooksService"]
    assert await check_access_policy(webhooks[1], service, POLICY, mint) == []


# The role matrix of ARCHITECTURE.md for this service, pinned: a policy edit shows up here.
EXPECTED = {
    "VerifySubscription": ('public', None),
    "ReceiveWebhook": ('public', None),
}


def test_the_policy_is_the_role_matrix() -> None:
    assert {name.rsplit("/", 1)[1]: (access.kind, access.min_role.name if access.min_role
                                     else None) for name, access in POLICY.items()} == EXPECTED
