"""Composition root of the messaging service: the only module that knows concrete classes."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import asyncpg
from tucano.messaging.v1 import channels_pb2, channels_pb2_grpc
from tucano_kit.auth import TenantGate, TokenVerifier
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.runtime import open_database, remote_tenant_gate, remote_verifier

from tucano_messaging.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_messaging.adapters.postgres.channels import PostgresChannelRepository
from tucano_messaging.entrypoints.grpc.channels import ChannelsServicer
from tucano_messaging.entrypoints.grpc.policy import POLICY
from tucano_messaging.settings import MessagingSettings


@dataclass
class App:
    server: GrpcServer
    pool: asyncpg.Pool


async def build(settings: MessagingSettings, stack: contextlib.AsyncExitStack,
                verifier: TokenVerifier | None = None, gate: TenantGate | None = None) -> App:
    pool = await open_database(
        stack, setting="TUCANO_MESSAGING_DATABASE_URL", dsn=settings.database_url,
        schema=SCHEMA, migrations=MIGRATIONS, application_name="tucano-messaging",
        timeout_s=settings.dependency_timeout_s)
    verifier = verifier or await remote_verifier(stack, settings)
    gate = gate or await remote_tenant_gate(stack, settings)

    def channels(tenant: uuid.UUID) -> PostgresChannelRepository:
        return PostgresChannelRepository(pool, tenant)

    server = GrpcServer(
        domain="messaging.tucano", policy=POLICY, verifier=verifier,
        host=settings.grpc_host, port=settings.grpc_port, gate=gate,
        bindings=[ServiceBinding(channels_pb2.DESCRIPTOR.services_by_name["ChannelsService"],
                                 channels_pb2_grpc.add_ChannelsServiceServicer_to_server,
                                 ChannelsServicer(channels))])
    return App(server=server, pool=pool)
