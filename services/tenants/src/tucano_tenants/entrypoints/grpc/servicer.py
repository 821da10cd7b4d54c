"""TenantsService: parse the request, call the handler, map the result. Nothing else."""

from __future__ import annotations

import grpc
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc

from tucano_tenants.application import queries
from tucano_tenants.application.ports import PlanCatalogue
from tucano_tenants.domain.plans import Plan


def plan_to_proto(plan: Plan) -> tenants_pb2.Plan:
    return tenants_pb2.Plan(
        id=plan.id, display_name=plan.display_name,
        api_requests_per_second=plan.api_requests_per_second,
        api_requests_per_minute=plan.api_requests_per_minute,
        monthly_message_quota=plan.monthly_message_quota, max_contacts=plan.max_contacts)


class TenantsServicer(tenants_pb2_grpc.TenantsServiceServicer):
    def __init__(self, plans: PlanCatalogue):
        self._plans = plans

    async def ListPlans(self, request: tenants_pb2.ListPlansRequest,
                        context: grpc.aio.ServicerContext) -> tenants_pb2.ListPlansResponse:
        plans = await queries.list_plans(self._plans)
        return tenants_pb2.ListPlansResponse(plans=[plan_to_proto(p) for p in plans])
