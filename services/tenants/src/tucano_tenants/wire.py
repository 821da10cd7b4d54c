"""Domain objects as protobuf messages: shared by the gRPC servicer and the event publisher."""

from __future__ import annotations

from tucano.tenants.v1 import tenants_pb2

from tucano_tenants.domain.plans import Limits, Plan
from tucano_tenants.domain.tenants import (
    Invitation,
    Membership,
    Tenant,
    TenantDetails,
    TenantState,
)

STATES = {TenantState.ACTIVE: tenants_pb2.TENANT_STATE_ACTIVE,
          TenantState.SUSPENDED: tenants_pb2.TENANT_STATE_SUSPENDED,
          TenantState.CLOSED: tenants_pb2.TENANT_STATE_CLOSED}


def tenant_to_proto(tenant: Tenant) -> tenants_pb2.Tenant:
    message = tenants_pb2.Tenant(tenant_id=str(tenant.id), name=tenant.name,
                                 state=STATES[tenant.state], plan_id=tenant.plan_id)
    message.create_time.FromDatetime(tenant.created_at)
    return message


def membership_to_proto(membership: Membership) -> tenants_pb2.Membership:
    message = tenants_pb2.Membership(
        tenant_id=str(membership.tenant_id), user_id=str(membership.user_id),
        role=membership.role.name.lower(), tenant_name=membership.tenant_name,
        tenant_state=STATES[membership.tenant_state])
    message.create_time.FromDatetime(membership.created_at)
    return message


def plan_to_proto(plan: Plan) -> tenants_pb2.Plan:
    return tenants_pb2.Plan(
        id=plan.id, display_name=plan.display_name,
        api_requests_per_second=plan.api_requests_per_second,
        api_requests_per_minute=plan.api_requests_per_minute,
        monthly_message_quota=plan.monthly_message_quota, max_contacts=plan.max_contacts)


STATES_BY_PROTO = {v: k for k, v in STATES.items()}


def limits_to_proto(limits: Limits) -> tenants_pb2.TenantLimits:
    return tenants_pb2.TenantLimits(
        plan_id=limits.plan_id, api_requests_per_second=limits.api_requests_per_second,
        api_requests_per_minute=limits.api_requests_per_minute,
        monthly_message_quota=limits.monthly_message_quota, max_contacts=limits.max_contacts)


def details_to_proto(details: TenantDetails) -> tenants_pb2.TenantDetails:
    s = details.settings
    return tenants_pb2.TenantDetails(
        tenant=tenant_to_proto(details.tenant),
        settings=tenants_pb2.TenantSettings(name=s.name, default_country=s.default_country,
                                            timezone=s.timezone, cors_origins=s.cors_origins),
        limits=limits_to_proto(details.limits), state_reason=details.state_reason)


def invitation_to_proto(invitation: Invitation) -> tenants_pb2.Invitation:
    message = tenants_pb2.Invitation(
        invitation_id=str(invitation.id), email=invitation.email,
        role=invitation.role.name.lower(), invited_by=str(invitation.invited_by))
    message.expire_time.FromDatetime(invitation.expires_at)
    message.create_time.FromDatetime(invitation.created_at)
    return message
