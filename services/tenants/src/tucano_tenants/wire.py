"""Domain objects as protobuf messages: shared by the gRPC servicer and the event publisher."""

from __future__ import annotations

from tucano.tenants.v1 import tenants_pb2

from tucano_tenants.domain.plans import Plan
from tucano_tenants.domain.tenants import Membership, Tenant, TenantState

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
