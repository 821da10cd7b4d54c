"""Fixtures: the tenants service served for real (port 0) against the session database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc.aio
import pytest
from tucano.tenants.v1 import tenants_pb2_grpc
from tucano_kit.settings import load_settings
from tucano_kit.testing import TokenFactory, migrated_service_dsn, serve_app
from tucano_tenants.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_tenants.bootstrap import App, build
from tucano_tenants.settings import TenantsSettings


@pytest.fixture(scope="session")
async def tenants(admin_url: str, test_database: str, tokens: TokenFactory
                  ) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    dsn = await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_tenants",
                                     MIGRATIONS)
    settings = load_settings(TenantsSettings, database_url=dsn, grpc_port=0)
    async with serve_app(build, settings, verifier=tokens.verifier()) as served:
        yield served


@pytest.fixture
def tenants_stub(tenants: tuple[object, grpc.aio.Channel]) -> tenants_pb2_grpc.TenantsServiceStub:
    return tenants_pb2_grpc.TenantsServiceStub(tenants[1])


@pytest.fixture(scope="session")
def service_md(tokens: TokenFactory) -> tuple[tuple[str, str], ...]:
    return tokens.metadata(role=None, subject="service:auth", typ="service")
