"""Tenants and memberships in PostgreSQL, under row-level security.

Tenant work sets app.tenant_id; sign-in lookups set app.user_id, which shows the user's own
memberships across tenants and nothing else. Events go through the outbox in the same
transaction as the change they announce.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from tucano.tenants.v1 import events_pb2
from tucano_kit.amqp.outbox import OutboxMessage, enqueue
from tucano_kit.amqp.topology import EVENTS
from tucano_kit.auth import Role
from tucano_kit.postgres import scoped_transaction

from tucano_tenants.domain.plans import Limits
from tucano_tenants.domain.tenants import Membership, Tenant, TenantState
from tucano_tenants.wire import tenant_to_proto

_TENANT = "t.id, t.name, t.state, t.plan_id, t.created_at"
_MEMBERSHIP = ("m.tenant_id, m.user_id, m.role, m.created_at, t.name AS tenant_name,"
               " t.state AS tenant_state")


def _tenant(row: asyncpg.Record) -> Tenant:
    return Tenant(id=row["id"], name=row["name"], state=TenantState(row["state"]),
                  plan_id=row["plan_id"], created_at=row["created_at"])


def _membership(row: asyncpg.Record) -> Membership:
    return Membership(tenant_id=row["tenant_id"], user_id=row["user_id"],
                      role=Role.parse(row["role"]), tenant_name=row["tenant_name"],
                      tenant_state=TenantState(row["tenant_state"]),
                      created_at=row["created_at"])


class PostgresTenantRepository:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def create(self, name: str, owner: uuid.UUID, request_id: uuid.UUID) -> Tenant:
        tenant_id = uuid.uuid4()
        try:
            async with scoped_transaction(self._pool, {"tenant_id": tenant_id,
                                                       "user_id": owner}) as conn:
                existing = await conn.fetchrow(
                    f"SELECT {_TENANT} FROM tenants t WHERE create_request_id = $1", request_id)
                if existing is not None:
                    return _tenant(existing)
                row = await conn.fetchrow(
                    "INSERT INTO tenants AS t (id, name, create_request_id) VALUES ($1, $2, $3)"
                    f" RETURNING {_TENANT}", tenant_id, name, request_id)
                await conn.execute("INSERT INTO memberships (tenant_id, user_id, role)"
                                   " VALUES ($1, $2, 'owner')", tenant_id, owner)
                tenant = _tenant(row)
                await enqueue(conn, OutboxMessage(
                    exchange=EVENTS, routing_key="tenant.created",
                    message_type="tucano.tenants.v1.TenantCreated", mandatory=False,
                    headers={"tenant_id": str(tenant_id)},
                    body=events_pb2.TenantCreated(tenant=tenant_to_proto(tenant),
                                                  owner_user_id=str(owner)).SerializeToString()))
                return tenant
        except asyncpg.UniqueViolationError:
            # A concurrent retry of the same request won; return what it created.
            async with scoped_transaction(self._pool, {"user_id": owner}) as conn:
                existing = await conn.fetchrow(
                    f"SELECT {_TENANT} FROM tenants t WHERE create_request_id = $1", request_id)
            if existing is None:
                raise
            return _tenant(existing)

    async def abandon(self, tenant_id: uuid.UUID, owner: uuid.UUID, window: timedelta) -> bool:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id}) as conn:
            members = await conn.fetch("SELECT user_id, role FROM memberships FOR UPDATE")
            if [(m["user_id"], m["role"]) for m in members] != [(owner, "owner")]:
                return False
            deleted = await conn.execute(
                "DELETE FROM tenants WHERE id = $1"
                " AND created_at > clock_timestamp() - $2::interval",
                tenant_id, window)
            if deleted != "DELETE 1":
                return False
            await enqueue(conn, OutboxMessage(
                exchange=EVENTS, routing_key="tenant.abandoned",
                message_type="tucano.tenants.v1.TenantAbandoned", mandatory=False,
                headers={"tenant_id": str(tenant_id)},
                body=events_pb2.TenantAbandoned(tenant_id=str(tenant_id)).SerializeToString()))
            return True

    async def membership(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id},
                                      readonly=True) as conn:
            row = await conn.fetchrow(
                f"SELECT {_MEMBERSHIP} FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
                " WHERE m.user_id = $1", user_id)
        return _membership(row) if row else None

    async def memberships_of(self, user_id: uuid.UUID) -> list[Membership]:
        async with scoped_transaction(self._pool, {"user_id": user_id}, readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_MEMBERSHIP} FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
                " WHERE m.user_id = $1 ORDER BY m.created_at, m.tenant_id", user_id)
        return [_membership(r) for r in rows]


class PostgresLimitsSource:
    """Effective limits: the plan's, overridden per tenant where an operator set a value."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def limits(self, tenant_id: uuid.UUID) -> Limits | None:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id},
                                      readonly=True) as conn:
            row = await conn.fetchrow(
                "SELECT t.plan_id,"
                " coalesce(t.api_requests_per_second_override, p.api_requests_per_second)"
                "  AS api_requests_per_second,"
                " coalesce(t.api_requests_per_minute_override, p.api_requests_per_minute)"
                "  AS api_requests_per_minute,"
                " coalesce(t.monthly_message_quota_override, p.monthly_message_quota)"
                "  AS monthly_message_quota,"
                " coalesce(t.max_contacts_override, p.max_contacts) AS max_contacts"
                " FROM tenants t JOIN plans p ON p.id = t.plan_id WHERE t.id = $1", tenant_id)
        return Limits(**dict(row)) if row else None
