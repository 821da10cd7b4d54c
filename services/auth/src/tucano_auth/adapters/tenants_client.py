"""The tenants service over gRPC, called with auth's own service token."""

from __future__ import annotations

import time
import uuid

import grpc
import grpc.aio
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tucano.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from tucano_kit.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    PermissionDenied,
    Unavailable,
)

from tucano_auth.adapters.tokens import TokenSigner
from tucano_auth.application.ports import InvitationView, MembershipView

SERVICE_SUBJECT = "service:auth"


class GrpcTenants:
    def __init__(self, channel: grpc.aio.Channel, signer: TokenSigner, timeout_s: float = 5.0):
        self._stub = tenants_pb2_grpc.TenantsServiceStub(channel)
        self._signer = signer
        self._timeout = timeout_s
        self._token: tuple[str, float] | None = None

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        if self._token is None or time.monotonic() > self._token[1]:
            token = await self._signer.sign(subject=SERVICE_SUBJECT, extra={"typ": "service"})
            self._token = (token, time.monotonic() + self._signer.ttl_s / 2)
        return (("authorization", f"Bearer {self._token[0]}"),)

    async def _call(self, method: str, request: object) -> object:
        try:
            return await getattr(self._stub, method)(request, metadata=await self._metadata(),
                                                     timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise _translate(exc) from exc

    async def create_tenant(self, name: str, owner: uuid.UUID, request_id: uuid.UUID
                            ) -> uuid.UUID:
        reply = await self._call("CreateTenant", tenants_pb2.CreateTenantRequest(
            name=name, owner_user_id=str(owner), request_id=str(request_id)))
        assert isinstance(reply, tenants_pb2.CreateTenantResponse)
        return uuid.UUID(reply.tenant.tenant_id)

    async def abandon_tenant(self, tenant_id: uuid.UUID, owner: uuid.UUID) -> None:
        await self._call("AbandonTenant", tenants_pb2.AbandonTenantRequest(
            tenant_id=str(tenant_id), owner_user_id=str(owner)))

    async def membership(self, tenant_id: uuid.UUID, user_id: uuid.UUID
                         ) -> MembershipView | None:
        reply = await self._call("GetMembership", tenants_pb2.GetMembershipRequest(
            tenant_id=str(tenant_id), user_id=str(user_id)))
        if reply is None:
            return None
        assert isinstance(reply, tenants_pb2.GetMembershipResponse)
        m = reply.membership
        return MembershipView(uuid.UUID(m.tenant_id), m.tenant_name, m.role)

    async def peek_invitation(self, token: str) -> InvitationView | None:
        reply = await self._call("PeekInvitation", tenants_pb2.PeekInvitationRequest(token=token))
        if reply is None:
            return None
        assert isinstance(reply, tenants_pb2.PeekInvitationResponse)
        return InvitationView(email=reply.email, tenant_id=uuid.UUID(reply.tenant_id),
                              tenant_name=reply.tenant_name, role=reply.role)

    async def redeem_invitation(self, token: str, user_id: uuid.UUID, email: str
                                ) -> MembershipView | None:
        reply = await self._call("RedeemInvitation", tenants_pb2.RedeemInvitationRequest(
            token=token, user_id=str(user_id), email=email))
        if reply is None:
            return None
        assert isinstance(reply, tenants_pb2.RedeemInvitationResponse)
        m = reply.membership
        return MembershipView(uuid.UUID(m.tenant_id), m.tenant_name, m.role)

    async def memberships(self, user_id: uuid.UUID) -> list[MembershipView]:
        reply = await self._call("ListUserMemberships",
                                 tenants_pb2.ListUserMembershipsRequest(user_id=str(user_id)))
        assert isinstance(reply, tenants_pb2.ListUserMembershipsResponse)
        return [MembershipView(uuid.UUID(m.tenant_id), m.tenant_name, m.role)
                for m in reply.memberships]


_PASSED_ON: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
}


def _translate(exc: grpc.aio.AioRpcError) -> DomainError:
    """Tenants' refusals (with their reason) pass through to auth's caller; anything else means
    tenants could not answer."""
    kind = _PASSED_ON.get(exc.code())
    if kind is None:
        return Unavailable("TENANTS_UNAVAILABLE",
                           "the tenants service could not complete the request")
    reason = "TENANTS_REFUSED"
    status = rpc_status.from_call(exc)
    for detail in status.details if status else []:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            reason = info.reason
    return kind(reason, exc.details() or "refused by the tenants service")
