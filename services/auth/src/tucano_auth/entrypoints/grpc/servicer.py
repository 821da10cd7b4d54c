"""AuthService: parse and validate each request in one place, call the handler, map."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

import grpc
from tucano.auth.v1 import auth_pb2, auth_pb2_grpc
from tucano_kit.auth import Caller, current_caller
from tucano_kit.validation import Violations

from tucano_auth.application import accounts, keys
from tucano_auth.application.accounts import Deps, TokenPair
from tucano_auth.application.ports import KeyRepository
from tucano_auth.application.service_tokens import issue_service_token
from tucano_auth.domain.passwords import password_problem
from tucano_auth.domain.users import User, display_name_problem, normalize_email

MAX_SECRET = 1024


def pair_to_proto(pair: TokenPair) -> auth_pb2.TokenPair:
    return auth_pb2.TokenPair(access_token=pair.access_token, expires_in=pair.expires_in,
                              refresh_token=pair.refresh_token, token_type="Bearer",
                              tenant_id=str(pair.tenant_id), role=pair.role)


def user_to_proto(user: User) -> auth_pb2.User:
    message = auth_pb2.User(user_id=str(user.id), email=user.email,
                            display_name=user.display_name,
                            platform_operator=user.platform_operator)
    message.create_time.FromDatetime(user.created_at)
    return message


def client_ip(context: grpc.aio.ServicerContext) -> str:
    """The address Envoy saw (it appends it last to x-forwarded-for), else the gRPC peer."""
    metadata = dict(context.invocation_metadata() or ())
    forwarded = metadata.get("x-forwarded-for")
    if isinstance(forwarded, str) and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64]
    peer = context.peer() or "unknown"
    return peer.rsplit(":", 1)[0][:64]


def _email(v: Violations, raw: str) -> str:
    try:
        return normalize_email(raw)
    except ValueError as exc:
        v.add("email", str(exc))
        return ""


def _new_password(v: Violations, field: str, password: str, inputs: list[str]) -> None:
    problem = password_problem(password, user_inputs=inputs)
    if problem:
        v.add(field, problem)


def parse_signup(request: auth_pb2.SignupRequest) -> accounts.Signup:
    with Violations() as v:
        email = _email(v, request.email)
        for field, value in (("display_name", request.display_name),
                             ("tenant_name", request.tenant_name)):
            problem = display_name_problem(value)
            if problem:
                v.add(field, problem)
        _new_password(v, "password", request.password,
                      [email, request.display_name, request.tenant_name])
    return accounts.Signup(email=email, password=request.password,
                           display_name=request.display_name.strip(),
                           tenant_name=request.tenant_name.strip())


def _user_scope() -> tuple[Caller, uuid.UUID, uuid.UUID]:
    caller = current_caller()
    return caller, uuid.UUID(caller.subject), uuid.UUID(caller.require_tenant())


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, deps: Deps, key_repository: KeyRepository, token_ttl: timedelta,
                 service_clients: Mapping[str, str]):
        self._deps = deps
        self._keys = key_repository
        self._ttl = token_ttl
        self._clients = service_clients

    async def GetJwks(self, request: auth_pb2.GetJwksRequest,
                      context: grpc.aio.ServicerContext) -> auth_pb2.GetJwksResponse:
        published = await keys.published_keys(self._keys, self._deps.clock, self._ttl)
        return auth_pb2.GetJwksResponse(keys=[
            auth_pb2.JsonWebKey(**{f: k.public_jwk[f] for f in
                                   ("kty", "crv", "x", "y", "kid", "use", "alg")})
            for k in published])

    async def Signup(self, request: auth_pb2.SignupRequest,
                     context: grpc.aio.ServicerContext) -> auth_pb2.SignupResponse:
        user, pair = await accounts.signup(parse_signup(request), self._deps)
        return auth_pb2.SignupResponse(user=user_to_proto(user), tokens=pair_to_proto(pair))

    async def Login(self, request: auth_pb2.LoginRequest,
                    context: grpc.aio.ServicerContext) -> auth_pb2.LoginResponse:
        with Violations() as v:
            email = _email(v, request.email)
            v.check(0 < len(request.password) <= MAX_SECRET, "password",
                    f"is required (at most {MAX_SECRET} characters)")
            tenant_id = v.uuid(request.tenant_id, "tenant_id", required=False)
        pair = await accounts.login(accounts.Login(email, request.password, tenant_id,
                                                   client_ip(context)), self._deps)
        return auth_pb2.LoginResponse(tokens=pair_to_proto(pair))

    async def Refresh(self, request: auth_pb2.RefreshRequest,
                      context: grpc.aio.ServicerContext) -> auth_pb2.RefreshResponse:
        with Violations() as v:
            v.check(0 < len(request.refresh_token) <= MAX_SECRET, "refresh_token",
                    "is required")
        pair = await accounts.refresh(request.refresh_token, self._deps)
        return auth_pb2.RefreshResponse(tokens=pair_to_proto(pair))

    async def Logout(self, request: auth_pb2.LogoutRequest,
                     context: grpc.aio.ServicerContext) -> auth_pb2.LogoutResponse:
        caller = current_caller()
        if caller.session_id:
            await accounts.logout(uuid.UUID(caller.session_id), self._deps)
        return auth_pb2.LogoutResponse()

    async def LogoutAll(self, request: auth_pb2.LogoutAllRequest,
                        context: grpc.aio.ServicerContext) -> auth_pb2.LogoutAllResponse:
        _, user_id, _ = _user_scope()
        count = await accounts.logout_all(user_id, self._deps)
        return auth_pb2.LogoutAllResponse(sessions_revoked=count)

    async def SwitchTenant(self, request: auth_pb2.SwitchTenantRequest,
                           context: grpc.aio.ServicerContext) -> auth_pb2.SwitchTenantResponse:
        _, user_id, _ = _user_scope()
        with Violations() as v:
            tenant_id = v.uuid(request.tenant_id, "tenant_id")
        assert tenant_id is not None
        pair = await accounts.switch_tenant(user_id, tenant_id, self._deps)
        return auth_pb2.SwitchTenantResponse(tokens=pair_to_proto(pair))

    async def ChangePassword(self, request: auth_pb2.ChangePasswordRequest,
                             context: grpc.aio.ServicerContext
                             ) -> auth_pb2.ChangePasswordResponse:
        _, user_id, tenant_id = _user_scope()
        with Violations() as v:
            v.check(0 < len(request.current_password) <= MAX_SECRET, "current_password",
                    "is required")
            _new_password(v, "new_password", request.new_password, [])
            v.check(request.new_password != request.current_password, "new_password",
                    "must differ from the current password")
        pair = await accounts.change_password(user_id, tenant_id, request.current_password,
                                              request.new_password, self._deps)
        return auth_pb2.ChangePasswordResponse(tokens=pair_to_proto(pair))

    async def GetMe(self, request: auth_pb2.GetMeRequest,
                    context: grpc.aio.ServicerContext) -> auth_pb2.GetMeResponse:
        _, user_id, tenant_id = _user_scope()
        user, memberships = await accounts.me(user_id, self._deps)
        return auth_pb2.GetMeResponse(
            user=user_to_proto(user), current_tenant_id=str(tenant_id),
            memberships=[auth_pb2.UserMembership(tenant_id=str(m.tenant_id),
                                                 tenant_name=m.tenant_name, role=m.role)
                         for m in memberships])

    async def AcceptInvitation(self, request: auth_pb2.AcceptInvitationRequest,
                               context: grpc.aio.ServicerContext
                               ) -> auth_pb2.AcceptInvitationResponse:
        with Violations() as v:
            v.check(0 < len(request.token) <= MAX_SECRET, "token", "is required")
            v.check(0 < len(request.password) <= MAX_SECRET, "password", "is required")
            problem = (display_name_problem(request.display_name)
                       if request.display_name else None)
            if problem:
                v.add("display_name", problem)
        user, pair, created = await accounts.accept_invitation(
            accounts.AcceptInvitation(request.token, request.password, request.display_name,
                                      client_ip(context)), self._deps,
            lambda password, inputs: password_problem(password, user_inputs=inputs))
        return auth_pb2.AcceptInvitationResponse(user=user_to_proto(user),
                                                 tokens=pair_to_proto(pair),
                                                 user_created=created)

    async def IssueServiceToken(self, request: auth_pb2.IssueServiceTokenRequest,
                                context: grpc.aio.ServicerContext
                                ) -> auth_pb2.IssueServiceTokenResponse:
        with Violations() as v:
            v.check(0 < len(request.client_id) <= 64, "client_id", "is required")
            v.check(0 < len(request.client_secret) <= MAX_SECRET, "client_secret",
                    "is required")
        token = await issue_service_token(request.client_id, request.client_secret,
                                          self._clients, self._deps.tokens)
        return auth_pb2.IssueServiceTokenResponse(access_token=token,
                                                  expires_in=self._deps.tokens.ttl_s)
