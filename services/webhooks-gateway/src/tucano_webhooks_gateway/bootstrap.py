"""Composition root of the webhooks gateway: the only module that knows concrete classes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import asyncpg
from tucano.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from tucano_kit.grpc import GrpcServer, ServiceBinding
from tucano_kit.runtime import open_amqp, open_database, start_outbox_relay

from tucano_webhooks_gateway.adapters.postgres import MIGRATIONS, SCHEMA
from tucano_webhooks_gateway.adapters.postgres.webhooks import PostgresWebhookStore
from tucano_webhooks_gateway.entrypoints.grpc.policy import POLICY
from tucano_webhooks_gateway.entrypoints.grpc.servicer import WebhooksServicer
from tucano_webhooks_gateway.settings import WebhooksSettings


@dataclass
class App:
    server: GrpcServer
    pool: asyncpg.Pool


async def build(settings: WebhooksSettings, stack: contextlib.AsyncExitStack) -> App:
    settings.require_secrets()
    pool = await open_database(
        stack, setting="TUCANO_WEBHOOKS_DATABASE_URL", dsn=settings.database_url,
        schema=SCHEMA, migrations=MIGRATIONS, application_name="tucano-webhooks-gateway",
        timeout_s=settings.dependency_timeout_s)
    amqp = await open_amqp(stack, settings, "tucano-webhooks-gateway")
    await start_outbox_relay(stack, pool, amqp, SCHEMA)
    servicer = WebhooksServicer(PostgresWebhookStore(pool), app_secret=settings.app_secret,
                                verify_token=settings.verify_token)
    server = GrpcServer(
        # Every RPC here is public (Meta carries no token), so no token verifier is needed.
        domain="webhooks.tucano", policy=POLICY, verifier=None,
        host=settings.grpc_host, port=settings.grpc_port,
        bindings=[ServiceBinding(webhooks_pb2.DESCRIPTOR.services_by_name["WebhooksService"],
                                 webhooks_pb2_grpc.add_WebhooksServiceServicer_to_server,
                                 servicer)])
    return App(server=server, pool=pool)
