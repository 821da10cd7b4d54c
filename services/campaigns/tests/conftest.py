"""Fixtures: the campaigns service served for real (port 0) against the session database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest
from tucano.campaigns.v1 import contacts_pb2_grpc
from tucano_campaigns.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_campaigns.bootstrap import App, build
from tucano_campaigns.settings import CampaignsSettings
from tucano_kit.settings import load_settings
from tucano_kit.testing import StaticTenantGate, TokenFactory, migrated_service_dsn, serve_app


@pytest.fixture(scope="session")
async def campaigns_dsn(admin_url: str, test_database: str) -> str:
    return await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_campaigns",
                                      MIGRATIONS)


@pytest.fixture(scope="session")
async def campaigns(campaigns_dsn: str, tokens: TokenFactory, tenant_gate: StaticTenantGate
                    ) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    settings = load_settings(CampaignsSettings, database_url=campaigns_dsn, grpc_port=0)
    async with serve_app(build, settings, verifier=tokens.verifier(),
                         gate=tenant_gate) as served:
        yield served


@pytest.fixture
def contacts_stub(campaigns: tuple[App, grpc.aio.Channel]
                  ) -> contacts_pb2_grpc.ContactsServiceStub:
    return contacts_pb2_grpc.ContactsServiceStub(campaigns[1])
