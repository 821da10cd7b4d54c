"""Fixtures: the auth service served for real (port 0) against the session database."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator

import grpc.aio
import pytest
from tucano_auth.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_auth.bootstrap import App, build
from tucano_auth.settings import AuthSettings
from tucano_kit.settings import load_settings
from tucano_kit.testing import migrated_service_dsn, serve_app

KEK = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="session")
async def auth_dsn(admin_url: str, test_database: str) -> str:
    return await migrated_service_dsn(admin_url, test_database, SCHEMA, "tucano_auth", MIGRATIONS)


@pytest.fixture(scope="session")
def auth_settings(auth_dsn: str) -> AuthSettings:
    return load_settings(AuthSettings, database_url=auth_dsn, grpc_port=0, key_encryption_key=KEK)


@pytest.fixture(scope="session")
async def auth(auth_settings: AuthSettings) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    async with serve_app(build, auth_settings) as served:
        yield served
