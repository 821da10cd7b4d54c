"""Envoy's RateLimitService (envoy.service.ratelimit.v3): parse the request, ask the handler,
map its decision to Envoy's response (statuses in descriptor order; `retry-after` on a refusal).

Envoy calls it with no token and the edge never routes it (policy: Access.internal()).
"""

from __future__ import annotations

import math

import grpc
from tucano.vendor import envoy_rls_pb2, envoy_rls_pb2_grpc

from tucano_tenants.application.ratelimit import RateLimitCheck, RateLimiter
from tucano_tenants.domain.ratelimit import Decision, Unit

Response = envoy_rls_pb2.RateLimitResponse

UNITS = {Unit.SECOND: Response.RateLimit.SECOND, Unit.MINUTE: Response.RateLimit.MINUTE}


def check_from_proto(request: envoy_rls_pb2.RateLimitRequest) -> RateLimitCheck:
    return RateLimitCheck(
        domain=request.domain,
        descriptors=tuple(tuple((e.key, e.value) for e in d.entries)
                          for d in request.descriptors),
        hits_addend=request.hits_addend)


def decision_to_proto(decision: Decision) -> envoy_rls_pb2.RateLimitResponse:
    response = Response(overall_code=Response.OVER_LIMIT if decision.over_limit else Response.OK)
    for verdict in decision.statuses:
        status = response.statuses.add(code=Response.OK)
        if verdict is None:
            continue  # not limited: OK with no current limit, as Envoy's own service answers
        status.code = Response.OVER_LIMIT if verdict.over_limit else Response.OK
        status.current_limit.requests_per_unit = verdict.window.limit
        status.current_limit.unit = UNITS[verdict.window.unit]
        status.limit_remaining = verdict.remaining
        status.duration_until_reset.FromMilliseconds(math.ceil(verdict.reset_after_s * 1000))
    retry_after = decision.retry_after_s
    if retry_after is not None:
        response.response_headers_to_add.add(key="retry-after", value=str(retry_after))
    return response


class RateLimitServicer(envoy_rls_pb2_grpc.RateLimitServiceServicer):
    def __init__(self, limiter: RateLimiter):
        self._limiter = limiter

    async def ShouldRateLimit(self, request: envoy_rls_pb2.RateLimitRequest,
                              context: grpc.aio.ServicerContext
                              ) -> envoy_rls_pb2.RateLimitResponse:
        return decision_to_proto(await self._limiter.check(check_from_proto(request)))
