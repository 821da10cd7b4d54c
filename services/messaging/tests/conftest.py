"""Fixtures: the messaging service served for real (port 0) against the session database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest
from tucano_kit.settings import load_settings
from tucano_kit.testing import StaticTenantGate, TokenFactory, migrated_service_dsn, serve_app
from tucano_messaging.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_messaging.bootstrap import App, build
from tucano_messaging.settings import MessagingSettings


@pytest.fixture(scope="session")
async def messaging_dsn(admin_url: str, test_database: str) -> str:
    return await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_messaging",
                                      MIGRATIONS)


@pytest.fixture(scope="session")
async def messaging(messaging_dsn: str, tokens: TokenFactory, tenant_gate: StaticTenantGate
                    ) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    settings = load_settings(MessagingSettings, database_url=messaging_dsn, grpc_port=0)
    async with serve_app(build, settings, verifier=tokens.verifier(),
                         gate=tenant_gate) as served:
        yield served
