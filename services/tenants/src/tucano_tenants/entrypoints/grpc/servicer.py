"""TenantsService: parse the request (one place each), call the handler, map the result."""

from __future__ import annotations

import uuid

import grpc
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.validation import Violations

from tucano_tenants.application import queries, tenants
from tucano_tenants.application.ports import PlanCatalogue, TenantRepository
from tucano_tenants.domain.tenants import tenant_name_problem
from tucano_tenants.wire import membership_to_proto, plan_to_proto, tenant_to_proto


def _ids(v: Violations, **fields: str) -> list[uuid.UUID]:
    parsed = [v.uuid(value, name) for name, value in fields.items()]
    v.raise_if_any()
    return [p for p in parsed if p is not None]


class TenantsServicer(tenants_pb2_grpc.TenantsServiceServicer):
    def __init__(self, plans: PlanCatalogue, tenant_repository: TenantRepository):
        self._plans = plans
        self._tenants = tenant_repository

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
