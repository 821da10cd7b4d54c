"""Fixtures: auth and tenants served for real (port 0) against the session database and Redis.

Tenants verifies tokens with auth's published keys, as in production; since auth's port is
only known once it runs, tenants starts with a key source that is pointed at auth afterwards.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc.aio
import pytest
from tucano.auth.v1 import auth_pb2_grpc
from tucano.tenants.v1 import tenants_pb2_grpc
from tucano_auth.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_auth.bootstrap import App, build
from tucano_auth.settings import AuthSettings
from tucano_kit.auth import JwksSource, TokenVerifier
from tucano_kit.runtime import GrpcJwksSource
from tucano_kit.settings import load_settings
from tucano_kit.testing import migrated_service_dsn, serve_app
from tucano_tenants.adapters.postgres import MIGRATIONS as TENANTS_MIGRATIONS
from tucano_tenants.bootstrap import build as build_tenants
from tucano_tenants.settings import TenantsSettings

KEK = base64.b64encode(os.urandom(32)).decode()
SERVICE_CLIENT = ("test-worker", secrets.token_urlsafe(24))
TEST_REDIS_DB = 9


class DeferredJwks:
    source: JwksSource | None = None

    async def fetch(self) -> list[dict[str, Any]]:
        assert self.source is not None, "auth is not running yet"
        return await self.source.fetch()


@pytest.fixture(scope="session")
async def auth_dsn(admin_url: str, test_database: str) -> str:
    return await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_auth", MIGRATIONS)


@pytest.fixture(scope="session")
def auth_settings(auth_dsn: str, redis_url: str) -> AuthSettings:
    return load_settings(
        AuthSettings, database_url=auth_dsn, grpc_port=0, key_encryption_key=KEK,
        redis_url=redis_url.rsplit("/", 1)[0] + f"/{TEST_REDIS_DB}",
        service_clients=f"{SERVICE_CLIENT[0]}:{SERVICE_CLIENT[1]}")


@dataclass
class Services:
    auth: tuple[App, grpc.aio.Channel]
    tenants_channel: grpc.aio.Channel


@pytest.fixture(scope="session")
async def services(auth_settings: AuthSettings, admin_url: str, test_database: str
                   ) -> AsyncIterator[Services]:
    tenants_dsn = await migrated_service_dsn(admin_url, test_database, "tenants",
                                             "tucano_tenants", TENANTS_MIGRATIONS)
    keys = DeferredJwks()
    verifier = TokenVerifier(keys, issuer=auth_settings.jwt_issuer,
                             audience=auth_settings.jwt_audience)
    tenants_settings = load_settings(TenantsSettings, database_url=tenants_dsn, grpc_port=0)
    async with serve_app(build_tenants, tenants_settings, verifier=verifier) as (tenants, chan):
        settings = auth_settings.model_copy(
            update={"tenants_grpc_target": tenants.server.address})
        async with serve_app(build, settings) as served:
            keys.source = GrpcJwksSource(served[1])
            yield Services(served, chan)


@pytest.fixture(scope="session")
def auth(services: Services) -> tuple[App, grpc.aio.Channel]:
    return services.auth


@pytest.fixture
def tenants_stub(services: Services) -> tenants_pb2_grpc.TenantsServiceStub:
    return tenants_pb2_grpc.TenantsServiceStub(services.tenants_channel)


@pytest.fixture(scope="session")
def service_client() -> tuple[str, str]:
    return SERVICE_CLIENT


@pytest.fixture
def auth_stub(auth: tuple[App, grpc.aio.Channel]) -> auth_pb2_grpc.AuthServiceStub:
    return auth_pb2_grpc.AuthServiceStub(auth[1])
