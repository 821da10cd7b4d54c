"""Tenants and memberships in PostgreSQL, under row-level security.

Tenant work sets app.tenant_id; sign-in lookups set app.user_id, which shows the user's own
memberships across tenants and nothing else. Events go through the outbox in the same
transaction as the change they announce.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
from google.protobuf.message import Message
from tucano.tenants.v1 import events_pb2
from tucano_kit.amqp.outbox import OutboxMessage, enqueue
from tucano_kit.amqp.topology import EVENTS
from tucano_kit.auth import UNKNOWN_TENANT, Role, TenantStanding
from tucano_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from tucano_kit.postgres import scoped_transaction

from tucano_tenants.domain.plans import Limits
from tucano_tenants.domain.tenants import (
    Invitation,
    Membership,
    Tenant,
    TenantDetails,
    TenantSettings,
    TenantState,
    removal_problem,
    role_change_problem,
    state_change_problem,
)
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


_DETAILS = (
    "t.id, t.name, t.state, t.plan_id, t.created_at, t.default_country, t.timezone,"
    " t.cors_origins, t.state_reason,"
    " coalesce(t.api_requests_per_second_override, p.api_requests_per_second)"
    "  AS api_requests_per_second,"
    " coalesce(t.api_requests_per_minute_override, p.api_requests_per_minute)"
    "  AS api_requests_per_minute,"
    " coalesce(t.monthly_message_quota_override, p.monthly_message_quota)"
    "  AS monthly_message_quota,"
    " coalesce(t.max_contacts_override, p.max_contacts) AS max_contacts")
_DETAILS_FROM = "FROM tenants t JOIN plans p ON p.id = t.plan_id"
_INVITATION = "id, tenant_id, email, role, invited_by, created_at, expires_at"
OPERATOR_SCOPE = {"platform_operator": "on"}


def _details(row: asyncpg.Record) -> TenantDetails:
    return TenantDetails(
        tenant=_tenant(row),
        settings=TenantSettings(name=row["name"], default_country=row["default_country"],
                                timezone=row["timezone"], cors_origins=list(row["cors_origins"])),
        limits=Limits(plan_id=row["plan_id"],
                      api_requests_per_second=row["api_requests_per_second"],
                      api_requests_per_minute=row["api_requests_per_minute"],
                      monthly_message_quota=row["monthly_message_quota"],
                      max_contacts=row["max_contacts"]),
        state_reason=row["state_reason"])


def _invitation(row: asyncpg.Record) -> Invitation:
    return Invitation(id=row["id"], tenant_id=row["tenant_id"], email=row["email"],
                      role=Role.parse(row["role"]), invited_by=row["invited_by"],
                      created_at=row["created_at"], expires_at=row["expires_at"])


def _event(key: str, message: Message, tenant_id: uuid.UUID) -> OutboxMessage:
    return OutboxMessage(exchange=EVENTS, routing_key=key, mandatory=False,
                         message_type=message.DESCRIPTOR.full_name,
                         headers={"tenant_id": str(tenant_id)},
                         body=message.SerializeToString())


class PostgresTenantAdmin:
    """Tenant settings, lifecycle, plans, members and invitations."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    # -- tenant --------------------------------------------------------------------------
    async def details(self, tenant_id: uuid.UUID, *, operator: bool = False
                      ) -> TenantDetails | None:
        scope = OPERATOR_SCOPE if operator else {"tenant_id": tenant_id}
        async with scoped_transaction(self._pool, scope, readonly=True) as conn:
            row = await conn.fetchrow(f"SELECT {_DETAILS} {_DETAILS_FROM} WHERE t.id = $1",
                                      tenant_id)
        return _details(row) if row else None

    async def update_settings(self, tenant_id: uuid.UUID, changes: dict[str, object]
                              ) -> TenantDetails:
        columns = {"name", "default_country", "timezone", "cors_origins"}
        assert set(changes) <= columns
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id}) as conn:
            if changes:
                sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(changes, start=2))
                await conn.execute(f"UPDATE tenants SET {sets} WHERE id = $1", tenant_id,
                                   *changes.values())
            row = await conn.fetchrow(f"SELECT {_DETAILS} {_DETAILS_FROM} WHERE t.id = $1",
                                      tenant_id)
        return _details(row)

    async def change_state(self, tenant_id: uuid.UUID, new: TenantState, reason: str, *,
                           operator: bool, confirm_name: str | None = None) -> TenantDetails:
        scope = OPERATOR_SCOPE if operator else {"tenant_id": tenant_id}
        async with scoped_transaction(self._pool, scope) as conn:
            row = await conn.fetchrow("SELECT name, state FROM tenants WHERE id = $1 FOR UPDATE",
                                      tenant_id)
            if row is None:
                raise NotFound("TENANT_NOT_FOUND", "tenant not found")
            if confirm_name is not None and confirm_name != row["name"]:
                raise FailedPrecondition("CONFIRMATION_MISMATCH",
                                         "confirm_name must be the tenant's name",
                                         {"subject": "confirm_name"})
            problem = state_change_problem(TenantState(row["state"]), new)
            if problem:
                raise problem
            updated = await conn.fetchrow(
                "UPDATE tenants AS t SET state = $2, state_reason = $3,"
                " state_changed_at = clock_timestamp() WHERE id = $1"
                f" RETURNING {_TENANT}", tenant_id, new.value, reason)
            tenant = _tenant(updated)
            if new is TenantState.CLOSED:
                event: Message = events_pb2.TenantClosed(tenant_id=str(tenant_id))
                key = "tenant.closed"
            else:
                event = events_pb2.TenantStateChanged(tenant=tenant_to_proto(tenant),
                                                      reason=reason)
                key = "tenant.state_changed"
            await enqueue(conn, _event(key, event, tenant_id))
            full = await conn.fetchrow(f"SELECT {_DETAILS} {_DETAILS_FROM} WHERE t.id = $1",
                                       tenant_id)
        return _details(full)

    async def list_all(self, limit: int, after: tuple[datetime, uuid.UUID] | None,
                       state: TenantState | None) -> list[TenantDetails]:
        async with scoped_transaction(self._pool, OPERATOR_SCOPE, readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_DETAILS} {_DETAILS_FROM}"
                " WHERE ($2::text IS NULL OR t.state = $2)"
                " AND ($3::timestamptz IS NULL OR (t.created_at, t.id) > ($3, $4))"
                " ORDER BY t.created_at, t.id LIMIT $1",
                limit, state.value if state else None, after[0] if after else None,
                after[1] if after else None)
        return [_details(r) for r in rows]

    async def set_plan(self, tenant_id: uuid.UUID, plan_id: str,
                       overrides: dict[str, int | None]) -> TenantDetails:
        async with scoped_transaction(self._pool, OPERATOR_SCOPE) as conn:
            if not await conn.fetchval("SELECT 1 FROM plans WHERE id = $1", plan_id):
                raise InvalidArgument([FieldViolation("plan_id", "is not a plan")])
            updated = await conn.execute(
                "UPDATE tenants SET plan_id = $2, api_requests_per_second_override = $3,"
                " api_requests_per_minute_override = $4, monthly_message_quota_override = $5,"
                " max_contacts_override = $6 WHERE id = $1", tenant_id, plan_id,
                overrides["api_requests_per_second"], overrides["api_requests_per_minute"],
                overrides["monthly_message_quota"], overrides["max_contacts"])
            if updated != "UPDATE 1":
                raise NotFound("TENANT_NOT_FOUND", "tenant not found")
            row = await conn.fetchrow(f"SELECT {_DETAILS} {_DETAILS_FROM} WHERE t.id = $1",
                                      tenant_id)
        return _details(row)

    # -- members -------------------------------------------------------------------------
    async def members(self, tenant_id: uuid.UUID) -> list[Membership]:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id},
                                      readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_MEMBERSHIP} FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
                " ORDER BY m.created_at, m.user_id")
        return [_membership(r) for r in rows]

    async def _lock_members(self, conn: asyncpg.Connection, user_id: uuid.UUID
                            ) -> tuple[Role, int]:
        rows = await conn.fetch("SELECT user_id, role FROM memberships FOR UPDATE")
        roles = {r["user_id"]: Role.parse(r["role"]) for r in rows}
        if user_id not in roles:
            raise NotFound("MEMBER_NOT_FOUND", "no such member in this tenant")
        return roles[user_id], sum(1 for r in roles.values() if r is Role.OWNER)

    async def change_role(self, tenant_id: uuid.UUID, user_id: uuid.UUID, new: Role,
                          actor: Role) -> Membership:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id}) as conn:
            current, owners = await self._lock_members(conn, user_id)
            problem = role_change_problem(actor, current, new, owners)
            if problem:
                raise problem
            await conn.execute("UPDATE memberships SET role = $2 WHERE user_id = $1",
                               user_id, new.name.lower())
            row = await conn.fetchrow(
                f"SELECT {_MEMBERSHIP} FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
                " WHERE m.user_id = $1", user_id)
        return _membership(row)

    async def remove_member(self, tenant_id: uuid.UUID, user_id: uuid.UUID, actor: Role
                            ) -> None:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id}) as conn:
            current, owners = await self._lock_members(conn, user_id)
            problem = removal_problem(actor, current, owners)
            if problem:
                raise problem
            await conn.execute("DELETE FROM memberships WHERE user_id = $1", user_id)
            await enqueue(conn, _event("tenant.member_removed", events_pb2.MemberRemoved(
                tenant_id=str(tenant_id), user_id=str(user_id)), tenant_id))

    # -- invitations ---------------------------------------------------------------------
    async def create_invitation(self, invitation: Invitation, token_sha256: bytes) -> None:
        async with scoped_transaction(self._pool, {"tenant_id": invitation.tenant_id}) as conn:
            try:
                await conn.execute(
                    "INSERT INTO invitations (id, tenant_id, email, role, token_sha256,"
                    " invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                    " $8)", invitation.id, invitation.tenant_id, invitation.email,
                    invitation.role.name.lower(), token_sha256, invitation.invited_by,
                    invitation.created_at, invitation.expires_at)
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("INVITATION_PENDING",
                                    "a pending invitation for this email exists") from None

    async def pending_invitations(self, tenant_id: uuid.UUID) -> list[Invitation]:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id},
                                      readonly=True) as conn:
            rows = await conn.fetch(
                f"SELECT {_INVITATION} FROM invitations WHERE accepted_at IS NULL"
                " AND revoked_at IS NULL AND expires_at > clock_timestamp()"
                " ORDER BY created_at DESC")
        return [_invitation(r) for r in rows]

    async def revoke_invitation(self, tenant_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
        async with scoped_transaction(self._pool, {"tenant_id": tenant_id}) as conn:
            result = await conn.execute(
                "UPDATE invitations SET revoked_at = clock_timestamp() WHERE id = $1"
                " AND accepted_at IS NULL AND revoked_at IS NULL", invitation_id)
        if result != "UPDATE 1":
            raise NotFound("INVITATION_NOT_FOUND", "no pending invitation with this id")

    async def usable_invitation(self, conn: asyncpg.Connection, token_sha256: bytes,
                                *, lock: bool) -> tuple[Invitation, str]:
        """The invitation a token digest names, if it can still be accepted. The transaction
        is in the token's scope; this also puts it in the invitation's tenant's scope."""
        row = await conn.fetchrow(
            f"SELECT {_INVITATION}, accepted_at, revoked_at FROM invitations"
            " WHERE token_sha256 = $1" + (" FOR UPDATE" if lock else ""), token_sha256)
        if row is None:
            raise NotFound("INVITATION_NOT_FOUND", "this invitation does not exist")
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(row["tenant_id"]))
        tenant = await conn.fetchrow("SELECT name, state FROM tenants WHERE id = $1",
                                     row["tenant_id"])
        for failed, reason, text in (
                (row["accepted_at"] is not None, "INVITATION_USED", "already accepted"),
                (row["revoked_at"] is not None, "INVITATION_REVOKED", "revoked"),
                (tenant["state"] == "closed", "TENANT_CLOSED", "for a closed tenant")):
            if failed:
                raise FailedPrecondition(reason, f"this invitation was {text}",
                                         {"subject": "token"})
        if row["expires_at"] <= await conn.fetchval("SELECT clock_timestamp()"):
            raise FailedPrecondition("INVITATION_EXPIRED", "this invitation has expired",
                                     {"subject": "token"})
        return _invitation(row), tenant["name"]

    async def peek_invitation(self, token_sha256: bytes) -> tuple[Invitation, str]:
        async with scoped_transaction(self._pool, {"invitation_sha256": token_sha256.hex()},
                                      readonly=True) as conn:
            return await self.usable_invitation(conn, token_sha256, lock=False)

    async def redeem_invitation(self, token_sha256: bytes, user_id: uuid.UUID, email: str
                                ) -> Membership:
        async with scoped_transaction(self._pool,
                                      {"invitation_sha256": token_sha256.hex()}) as conn:
            invitation, _ = await self.usable_invitation(conn, token_sha256, lock=True)
            if invitation.email != email:
                raise PermissionDenied("INVITATION_FOR_ANOTHER_EMAIL",
                                       "this invitation was sent to another email address")
            await conn.execute(
                "UPDATE invitations SET accepted_at = clock_timestamp(), accepted_by = $2"
                " WHERE id = $1", invitation.id, user_id)
            try:
                async with conn.transaction():
                    await conn.execute("INSERT INTO memberships (tenant_id, user_id, role)"
                                       " VALUES ($1, $2, $3)", invitation.tenant_id, user_id,
                                       invitation.role.name.lower())
            except asyncpg.UniqueViolationError:
                raise AlreadyExists("ALREADY_A_MEMBER",
                                    "you are already a member of this tenant") from None
            row = await conn.fetchrow(
                f"SELECT {_MEMBERSHIP} FROM memberships m JOIN tenants t ON t.id = m.tenant_id"
                " WHERE m.user_id = $1 AND m.tenant_id = $2", user_id, invitation.tenant_id)
        return _membership(row)


class LocalTenantStanding:
    """The tenants service's own CachedTenantGate source: its database, no network hop."""

    def __init__(self, admin: PostgresTenantAdmin):
        self._admin = admin

    async def __call__(self, tenant_id: str) -> TenantStanding:
        try:
            details = await self._admin.details(uuid.UUID(tenant_id), operator=True)
        except ValueError:
            return UNKNOWN_TENANT
        if details is None:
            return UNKNOWN_TENANT
        return TenantStanding(
            state=details.tenant.state.value, max_contacts=details.limits.max_contacts,
            monthly_message_quota=details.limits.monthly_message_quota,
            default_country=details.settings.default_country)
