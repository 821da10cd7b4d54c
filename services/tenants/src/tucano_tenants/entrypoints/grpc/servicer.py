"""TenantsService: parse the request (one place each), call the handler, map the result."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import grpc
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit import paging
from tucano_kit.auth import Role, current_caller
from tucano_kit.validation import Violations

from tucano_tenants.application import admin, queries, tenants
from tucano_tenants.application.ports import PlanCatalogue, TenantAdmin, TenantRepository
from tucano_tenants.domain.settings_rules import settings_problems
from tucano_tenants.domain.tenants import tenant_name_problem
from tucano_tenants.wire import (
    STATES,
    STATES_BY_PROTO,
    details_to_proto,
    invitation_to_proto,
    limits_to_proto,
    membership_to_proto,
    plan_to_proto,
    tenant_to_proto,
)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _ids(v: Violations, **fields: str) -> list[uuid.UUID]:
    parsed = [v.uuid(value, name) for name, value in fields.items()]
    v.raise_if_any()
    return [p for p in parsed if p is not None]


def _caller_scope() -> tuple[uuid.UUID, uuid.UUID, Role]:
    caller = current_caller()
    assert caller.role is not None
    return uuid.UUID(caller.require_tenant()), uuid.UUID(caller.subject), caller.role


def _role(v: Violations, value: str, field: str = "role") -> Role:
    try:
        return Role.parse(value)
    except ValueError:
        v.add(field, "must be owner, admin, operator or viewer")
        return Role.VIEWER


SETTINGS_FIELDS = ("name", "default_country", "timezone", "cors_origins")


def parse_settings_update(request: tenants_pb2.UpdateTenantRequest) -> dict[str, object]:
    given = request.tenant
    with Violations() as v:
        paths = list(request.update_mask.paths)
        unknown = [p for p in paths if p not in SETTINGS_FIELDS]
        if unknown:
            v.add("update_mask", f"unknown fields {unknown}; allowed: {list(SETTINGS_FIELDS)}")
        if not paths:  # every field that carries a value
            paths = [f for f in SETTINGS_FIELDS if getattr(given, f)]
        v.check(bool(paths), "tenant", "nothing to change")
        changes: dict[str, object] = {
            "name": given.name.strip(), "default_country": given.default_country.strip().upper(),
            "timezone": given.timezone.strip(),
            "cors_origins": [o.strip() for o in given.cors_origins]}
        changes = {k: val for k, val in changes.items() if k in paths}
        problems = settings_problems(
            changes.get("name"), changes.get("default_country"),  # type: ignore[arg-type]
            changes.get("timezone"), changes.get("cors_origins"))  # type: ignore[arg-type]
        for field, problem in problems.items():
            v.add(f"tenant.{field}", problem)
    return changes


class TenantsAdminServicer:
    """The tenant-facing and operator RPCs (mixed into TenantsServicer)."""

    _admin: TenantAdmin

    async def GetTenant(self, request: tenants_pb2.GetTenantRequest,
                        context: grpc.aio.ServicerContext) -> tenants_pb2.GetTenantResponse:
        tenant_id, _, _ = _caller_scope()
        details = await admin.get_tenant(tenant_id, self._admin)
        return tenants_pb2.GetTenantResponse(tenant=details_to_proto(details))

    async def UpdateTenant(self, request: tenants_pb2.UpdateTenantRequest,
                           context: grpc.aio.ServicerContext
                           ) -> tenants_pb2.UpdateTenantResponse:
        tenant_id, _, _ = _caller_scope()
        changes = parse_settings_update(request)
        details = await self._admin.update_settings(tenant_id, changes)
        return tenants_pb2.UpdateTenantResponse(tenant=details_to_proto(details))

    async def CloseTenant(self, request: tenants_pb2.CloseTenantRequest,
                          context: grpc.aio.ServicerContext) -> tenants_pb2.CloseTenantResponse:
        tenant_id, _, _ = _caller_scope()
        with Violations() as v:
            v.check(bool(request.confirm_name), "confirm_name", "is required (the tenant's name)")
        await admin.close_tenant(tenant_id, request.confirm_name, self._admin)
        return tenants_pb2.CloseTenantResponse()

    async def ListTenants(self, request: tenants_pb2.ListTenantsRequest,
                          context: grpc.aio.ServicerContext) -> tenants_pb2.ListTenantsResponse:
        size = paging.page_size(request.page_size)
        after = paging.decode_after("tenants", request.page_token)
        state = STATES_BY_PROTO.get(request.state)
        found = await self._admin.list_all(size + 1, after, state)
        page = found[:size]
        token = ""
        if len(found) > size:
            token = paging.encode_after("tenants", page[-1].tenant.created_at, page[-1].tenant.id)
        return tenants_pb2.ListTenantsResponse(tenants=[details_to_proto(d) for d in page],
                                               next_page_token=token)

    async def SuspendTenant(self, request: tenants_pb2.SuspendTenantRequest,
                            context: grpc.aio.ServicerContext
                            ) -> tenants_pb2.SuspendTenantResponse:
        with Violations() as v:
            (tenant_id,) = _ids(v, tenant_id=request.tenant_id)
            reason = v.text(request.reason, "reason", required=True, max_len=500)
        details = await admin.set_suspended(tenant_id, True, reason, self._admin)
        return tenants_pb2.SuspendTenantResponse(tenant=details_to_proto(details))

    async def ReactivateTenant(self, request: tenants_pb2.ReactivateTenantRequest,
                               context: grpc.aio.ServicerContext
                               ) -> tenants_pb2.ReactivateTenantResponse:
        with Violations() as v:
            (tenant_id,) = _ids(v, tenant_id=request.tenant_id)
        details = await admin.set_suspended(tenant_id, False, "", self._admin)
        return tenants_pb2.ReactivateTenantResponse(tenant=details_to_proto(details))

    async def UpdateTenantPlan(self, request: tenants_pb2.UpdateTenantPlanRequest,
                               context: grpc.aio.ServicerContext
                               ) -> tenants_pb2.UpdateTenantPlanResponse:
        o = request.overrides
        with Violations() as v:
            (tenant_id,) = _ids(v, tenant_id=request.tenant_id)
            v.check(bool(request.plan_id), "plan_id", "is required")
            for field in ("api_requests_per_second", "api_requests_per_minute",
                          "monthly_message_quota", "max_contacts"):
                v.check(getattr(o, field) >= 0, f"overrides.{field}", "must not be negative")
        overrides = {f: (getattr(o, f) or None) for f in (
            "api_requests_per_second", "api_requests_per_minute", "monthly_message_quota",
            "max_contacts")}
        details = await self._admin.set_plan(tenant_id, request.plan_id, overrides)
        return tenants_pb2.UpdateTenantPlanResponse(tenant=details_to_proto(details))

    async def GetTenantStanding(self, request: tenants_pb2.GetTenantStandingRequest,
                                context: grpc.aio.ServicerContext
                                ) -> tenants_pb2.GetTenantStandingResponse:
        with Violations() as v:
            (tenant_id,) = _ids(v, tenant_id=request.tenant_id)
        details = await admin.get_tenant(tenant_id, self._admin, operator=True)
        return tenants_pb2.GetTenantStandingResponse(
            state=STATES[details.tenant.state], limits=limits_to_proto(details.limits),
            default_country=details.settings.default_country)

    async def ListMembers(self, request: tenants_pb2.ListMembersRequest,
                          context: grpc.aio.ServicerContext) -> tenants_pb2.ListMembersResponse:
        tenant_id, _, _ = _caller_scope()
        members = await self._admin.members(tenant_id)
        return tenants_pb2.ListMembersResponse(members=[membership_to_proto(m) for m in members])

    async def UpdateMember(self, request: tenants_pb2.UpdateMemberRequest,
                           context: grpc.aio.ServicerContext
                           ) -> tenants_pb2.UpdateMemberResponse:
        tenant_id, _, actor = _caller_scope()
        with Violations() as v:
            (user_id,) = _ids(v, user_id=request.user_id)
            role = _role(v, request.role)
        member = await self._admin.change_role(tenant_id, user_id, role, actor)
        return tenants_pb2.UpdateMemberResponse(member=membership_to_proto(member))

    async def RemoveMember(self, request: tenants_pb2.RemoveMemberRequest,
                           context: grpc.aio.ServicerContext
                           ) -> tenants_pb2.RemoveMemberResponse:
        tenant_id, _, actor = _caller_scope()
        with Violations() as v:
            (user_id,) = _ids(v, user_id=request.user_id)
        await self._admin.remove_member(tenant_id, user_id, actor)
        return tenants_pb2.RemoveMemberResponse()

    async def CreateInvitation(self, request: tenants_pb2.CreateInvitationRequest,
                               context: grpc.aio.ServicerContext
                               ) -> tenants_pb2.CreateInvitationResponse:
        tenant_id, actor_id, actor = _caller_scope()
        with Violations() as v:
            email = request.invitation.email.strip().lower()
            v.check(bool(EMAIL.match(email)) and len(email) <= 254, "invitation.email",
                    "is not an email address")
            role = _role(v, request.invitation.role, "invitation.role")
        invitation, token = await admin.create_invitation(
            admin.CreateInvitation(tenant_id, email, role, actor, actor_id), self._admin,
            datetime.now(UTC))
        return tenants_pb2.CreateInvitationResponse(
            invitation=invitation_to_proto(invitation), token=token)

    async def ListInvitations(self, request: tenants_pb2.ListInvitationsRequest,
                              context: grpc.aio.ServicerContext
                              ) -> tenants_pb2.ListInvitationsResponse:
        tenant_id, _, _ = _caller_scope()
        pending = await self._admin.pending_invitations(tenant_id)
        return tenants_pb2.ListInvitationsResponse(
            invitations=[invitation_to_proto(i) for i in pending])

    async def RevokeInvitation(self, request: tenants_pb2.RevokeInvitationRequest,
                               context: grpc.aio.ServicerContext
                               ) -> tenants_pb2.RevokeInvitationResponse:
        tenant_id, _, _ = _caller_scope()
        with Violations() as v:
            (invitation_id,) = _ids(v, invitation_id=request.invitation_id)
        await self._admin.revoke_invitation(tenant_id, invitation_id)
        return tenants_pb2.RevokeInvitationResponse()

    async def PeekInvitation(self, request: tenants_pb2.PeekInvitationRequest,
                             context: grpc.aio.ServicerContext
                             ) -> tenants_pb2.PeekInvitationResponse:
        with Violations() as v:
            v.check(bool(request.token), "token", "is required")
        invitation, tenant_name = await admin.peek_invitation(request.token, self._admin)
        return tenants_pb2.PeekInvitationResponse(
            email=invitation.email, tenant_id=str(invitation.tenant_id),
            tenant_name=tenant_name, role=invitation.role.name.lower())

    async def RedeemInvitation(self, request: tenants_pb2.RedeemInvitationRequest,
                               context: grpc.aio.ServicerContext
                               ) -> tenants_pb2.RedeemInvitationResponse:
        with Violations() as v:
            v.check(bool(request.token), "token", "is required")
            (user_id,) = _ids(v, user_id=request.user_id)
        membership = await admin.redeem_invitation(request.token, user_id,
                                                   request.email.strip().lower(), self._admin)
        return tenants_pb2.RedeemInvitationResponse(membership=membership_to_proto(membership))


class TenantsServicer(TenantsAdminServicer, tenants_pb2_grpc.TenantsServiceServicer):
    def __init__(self, plans: PlanCatalogue, tenant_repository: TenantRepository,
                 tenant_admin: TenantAdmin):
        self._plans = plans
        self._tenants = tenant_repository
        self._admin = tenant_admin

    async def ListPlans(self, request: tenants_pb2.ListPlansRequest,
                        context: grpc.aio.ServicerContext) -> tenants_pb2.ListPlansResponse:
        plans = await queries.list_plans(self._plans)
        return tenants_pb2.ListPlansResponse(plans=[plan_to_proto(p) for p in plans])

    async def CreateTenant(self, request: tenants_pb2.CreateTenantRequest,
                           context: grpc.aio.ServicerContext
                           ) -> tenants_pb2.CreateTenantResponse:
        with Violations() as v:
            problem = tenant_name_problem(request.name)
            if problem:
                v.add("name", problem)
            owner, request_id = _ids(v, owner_user_id=request.owner_user_id,
                                     request_id=request.request_id)
        tenant = await tenants.create_tenant(request.name, owner, request_id, self._tenants)
        return tenants_pb2.CreateTenantResponse(tenant=tenant_to_proto(tenant))

    async def AbandonTenant(self, request: tenants_pb2.AbandonTenantRequest,
                            context: grpc.aio.ServicerContext
                            ) -> tenants_pb2.AbandonTenantResponse:
        with Violations() as v:
            tenant_id, owner = _ids(v, tenant_id=request.tenant_id,
                                    owner_user_id=request.owner_user_id)
        await tenants.abandon_tenant(tenant_id, owner, self._tenants)
        return tenants_pb2.AbandonTenantResponse()

    async def GetMembership(self, request: tenants_pb2.GetMembershipRequest,
                            context: grpc.aio.ServicerContext
                            ) -> tenants_pb2.GetMembershipResponse:
        with Violations() as v:
            tenant_id, user_id = _ids(v, tenant_id=request.tenant_id, user_id=request.user_id)
        membership = await tenants.get_membership(tenant_id, user_id, self._tenants)
        return tenants_pb2.GetMembershipResponse(membership=membership_to_proto(membership))

    async def ListUserMemberships(self, request: tenants_pb2.ListUserMembershipsRequest,
                                  context: grpc.aio.ServicerContext
                                  ) -> tenants_pb2.ListUserMembershipsResponse:
        with Violations() as v:
            (user_id,) = _ids(v, user_id=request.user_id)
        found = await tenants.list_user_memberships(user_id, self._tenants)
        return tenants_pb2.ListUserMembershipsResponse(
            memberships=[membership_to_proto(m) for m in found])
