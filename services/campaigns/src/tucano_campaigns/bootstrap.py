"""Composition root of the campaigns service: the only module that knows concrete classes."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import asyncpg
from tucano.campaigns.v1 import contacts_pb2, contacts_pb2_grpc
from tucano_kit.auth import TenantGate, TokenVerifier
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.runtime import open_database, remote_tenant_gate, remote_verifier

from tucano_campaigns.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_campaigns.adapters.postgres.contacts import PostgresContactRepository
from tucano_campaigns.entrypoints.grpc.contacts import ContactsServicer
from tucano_campaigns.entrypoints.grpc.policy import POLICY
from tucano_campaigns.settings import CampaignsSettings


@dataclass
class App:
    server: GrpcServer
    pool: asyncpg.Pool


async def build(settings: CampaignsSettings, stack: contextlib.AsyncExitStack,
                verifier: TokenVerifier | None = None, gate: TenantGate | None = None) -> App:
    pool = await open_database(
        stack, setting="TUCANO_CAMPAIGNS_DATABASE_URL", dsn=settings.database_url,
        schema=SCHEMA, migrations=MIGRATIONS, application_name="tucano-campaigns",
        timeout_s=settings.dependency_timeout_s)
    verifier = verifier or await remote_verifier(stack, settings)
    gate = gate or await remote_tenant_gate(stack, settings)

    def contacts(tenant: uuid.UUID) -> PostgresContactRepository:
        return PostgresContactRepository(pool, tenant)

    server = GrpcServer(
        domain="campaigns.tucano", policy=POLICY, verifier=verifier,
        host=settings.grpc_host, port=settings.grpc_port, gate=gate,
        bindings=[ServiceBinding(contacts_pb2.DESCRIPTOR.services_by_name["ContactsService"],
                                 contacts_pb2_grpc.add_ContactsServiceServicer_to_server,
                                 ContactsServicer(contacts, settings.import_max_rows))])
    return App(server=server, pool=pool)
