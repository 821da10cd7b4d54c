"""Composition root of the tenants service: the only module that knows concrete classes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import asyncpg
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.auth import TokenVerifier
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.runtime import open_amqp, open_database, remote_verifier, start_outbox_relay

from tucano_tenants.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_tenants.adapters.postgres.plans import PostgresPlanCatalogue
from tucano_tenants.adapters.postgres.tenants import (
    PostgresTenantAdmin,
    PostgresTenantRepository,
)
from tucano_tenants.entrypoints.grpc.policy import POLICY
from tucano_tenants.entrypoints.grpc.servicer import TenantsServicer
from tucano_tenants.settings import TenantsSettings


@dataclass
class App:
    server: GrpcServer
    pool: asyncpg.Pool


async def build(settings: TenantsSettings, stack: contextlib.AsyncExitStack,
                verifier: TokenVerifier | None = None) -> App:
    pool = await open_database(
        stack, setting="TUCANO_TENANTS_DATABASE_URL", dsn=settings.database_url, schema=SCHEMA,
        migrations=MIGRATIONS, application_name="tucano-tenants",
        timeout_s=settings.dependency_timeout_s)
    verifier = verifier or await remote_verifier(stack, settings)
    amqp = await open_amqp(stack, settings, "tucano-tenants")
    await start_outbox_relay(stack, pool, amqp, SCHEMA)
    servicer = TenantsServicer(PostgresPlanCatalogue(pool), PostgresTenantRepository(pool),
                               PostgresTenantAdmin(pool))
    server = GrpcServer(
        domain="tenants.tucano", policy=POLICY, verifier=verifier,
        host=settings.grpc_host, port=settings.grpc_port,
        bindings=[ServiceBinding(tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"],
                                 tenants_pb2_grpc.add_TenantsServiceServicer_to_server,
                                 servicer)])
    return App(server=server, pool=pool)
