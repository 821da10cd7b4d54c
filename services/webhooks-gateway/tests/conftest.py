"""Fixtures: the webhooks gateway served for real (port 0) against the session database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest
from tucano_kit.settings import load_settings
from tucano_kit.testing import migrated_service_dsn, serve_app
from tucano_webhooks_gateway.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_webhooks_gateway.bootstrap import App, build
from tucano_webhooks_gateway.settings import WebhooksSettings

APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "test-verify-token-0123456789"


@pytest.fixture(scope="session")
def app_secret() -> str:
    return APP_SECRET


@pytest.fixture(scope="session")
def verify_token() -> str:
    return VERIFY_TOKEN


@pytest.fixture(scope="session")
async def webhooks(admin_url: str, test_database: str
                   ) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    dsn = await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_webhooks",
                                     MIGRATIONS)
    settings = load_settings(WebhooksSettings, database_url=dsn, grpc_port=0,
                             app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)
    async with serve_app(build, settings) as served:
        yield served
