"""Sign-up, sign-in and sessions.

Signup keeps the new user's row uncommitted while it asks the tenants service to create the
tenant: if that fails, the transaction rolls back and no user is left behind; if the tenant
exists but the final commit fails, the tenant is abandoned (compensation).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from tucano_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)

from tucano_auth.application.ports import (
    AuthStore,
    Clock,
    LoginAttempts,
    MembershipView,
    PasswordHasher,
    Tenants,
    TokenIssuer,
)
from tucano_auth.domain.sessions import Session, session_problem
from tucano_auth.domain.throttle import retry_after_s
from tucano_auth.domain.users import User

log = logging.getLogger("tucano.auth")

INVALID_CREDENTIALS = "email or password is incorrect"


@dataclass(frozen=True)
class Deps:
    store: AuthStore
    hasher: PasswordHasher
    tenants: Tenants
    tokens: TokenIssuer
    attempts: LoginAttempts
    clock: Clock


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    tenant_id: uuid.UUID
    role: str


@dataclass(frozen=True)
class Signup:
    email: str
    password: str
    display_name: str
    tenant_name: str


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    tenant_id: uuid.UUID | None
    client_ip: str


def account_key(email: str) -> str:
    """Throttling key of an account: a digest, so no email is kept in Redis."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


async def _pair(deps: Deps, session: Session, refresh: str, role: str, *,
                platform_operator: bool = False) -> TokenPair:
    access = await deps.tokens.sign(subject=str(session.user_id),
                                    tenant_id=str(session.tenant_id),
                                    role=role, session_id=str(session.id),
                                    extra={"op": True} if platform_operator else None)
    return TokenPair(access, deps.tokens.ttl_s, refresh, session.tenant_id, role)


async def signup(cmd: Signup, deps: Deps) -> tuple[User, TokenPair]:
    password_hash = await deps.hasher.hash(cmd.password)
    user = User(id=uuid.uuid4(), email=cmd.email, display_name=cmd.display_name,
                password_hash=password_hash, platform_operator=False,
                created_at=deps.clock.now())
    tenant_id: uuid.UUID | None = None
    try:
        async with deps.store.transaction() as tx:
            await tx.add_user(user)
            tenant_id = await deps.tenants.create_tenant(cmd.tenant_name, user.id,
                                                         request_id=user.id)
            session, refresh = await tx.start_session(user.id, tenant_id)
    except BaseException:
        if tenant_id is not None:
            await _abandon(deps, tenant_id, user.id)
        raise
    log.info("signed up", extra={"user_id": str(user.id), "tenant_id": str(tenant_id)})
    return user, await _pair(deps, session, refresh, "owner")


async def _abandon(deps: Deps, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    try:
        await deps.tenants.abandon_tenant(tenant_id, user_id)
    except Exception:
        log.exception("could not abandon the tenant of a failed signup",
                      extra={"tenant_id": str(tenant_id), "user_id": str(user_id)})


async def login(cmd: Login, deps: Deps) -> TokenPair:
    account = account_key(cmd.email)
    wait = retry_after_s(await deps.attempts.counts(account, cmd.client_ip))
    if wait > 0:
        raise ResourceExhausted("LOGIN_THROTTLED", "too many failed sign-ins; try again later",
                                retry_after_s=wait)
    async with deps.store.transaction() as tx:
        user = await tx.user_by_email(cmd.email)
    ok = await deps.hasher.verify(user.password_hash if user else None, cmd.password)
    if user is None or not ok:
        await deps.attempts.failed(account, cmd.client_ip)
        log.info("sign-in failed", extra={"account": account})
        raise Unauthenticated("INVALID_CREDENTIALS", INVALID_CREDENTIALS)
    await deps.attempts.succeeded(account, cmd.client_ip)
    if deps.hasher.needs_rehash(user.password_hash):
        new_hash = await deps.hasher.hash(cmd.password)
        async with deps.store.transaction() as tx:
            await tx.set_password_hash(user.id, new_hash)
    membership = await _choose_membership(deps, user.id, cmd.tenant_id)
    async with deps.store.transaction() as tx:
        session, refresh = await tx.start_session(user.id, membership.tenant_id)
    return await _pair(deps, session, refresh, membership.role,
                       platform_operator=user.platform_operator)


async def _choose_membership(deps: Deps, user_id: uuid.UUID,
                             tenant_id: uuid.UUID | None) -> MembershipView:
    memberships = await deps.tenants.memberships(user_id)
    if tenant_id is not None:
        chosen = next((m for m in memberships if m.tenant_id == tenant_id), None)
        if chosen is None:
            raise PermissionDenied("NOT_A_MEMBER", "you are not a member of that tenant",
                                   {"tenant_id": str(tenant_id)})
        return chosen
    if not memberships:
        raise FailedPrecondition("NO_MEMBERSHIP", "this account belongs to no tenant")
    return memberships[0]


async def refresh(refresh_token: str, deps: Deps) -> TokenPair:
    async with deps.store.transaction() as tx:
        grant = await tx.redeem(refresh_token)
        if grant is None:
            raise Unauthenticated("INVALID_REFRESH_TOKEN", "refresh token not recognised")
        session = grant.session
        if grant.already_used:
            revoked = await tx.revoke_session(session.id, "refresh token reused")
            if revoked:
                log.warning("refresh token reuse: session revoked",
                            extra={"session_id": str(session.id), "user_id": str(session.user_id)})
            reason = "REFRESH_TOKEN_REUSED"
        else:
            reason = session_problem(session, deps.clock.now()) or ""
        membership = None
        user = await tx.user_by_id(session.user_id)
        if not reason and user is None:
            reason = "USER_NOT_FOUND"
        if not reason:
            membership = await deps.tenants.membership(session.tenant_id, session.user_id)
            if membership is None:
                await tx.revoke_session(session.id, "membership ended")
                reason = "MEMBERSHIP_ENDED"
            else:
                new_token = await tx.rotate(session.id)
    # Revocations above must commit even though the caller gets an error, hence outside.
    if reason or membership is None or user is None:
        raise Unauthenticated(reason, "the session has ended; sign in again")
    return await _pair(deps, session, new_token, membership.role,
                       platform_operator=user.platform_operator)


async def logout(session_id: uuid.UUID, deps: Deps) -> None:
    async with deps.store.transaction() as tx:
        await tx.revoke_session(session_id, "logout")


async def logout_all(user_id: uuid.UUID, deps: Deps) -> int:
    async with deps.store.transaction() as tx:
        return await tx.revoke_user_sessions(user_id, "logout everywhere")


async def switch_tenant(user_id: uuid.UUID, tenant_id: uuid.UUID, deps: Deps) -> TokenPair:
    membership = await deps.tenants.membership(tenant_id, user_id)
    if membership is None:
        raise PermissionDenied("NOT_A_MEMBER", "you are not a member of that tenant",
                               {"tenant_id": str(tenant_id)})
    async with deps.store.transaction() as tx:
        user = await tx.user_by_id(user_id)
        if user is None:
            raise Unauthenticated("USER_NOT_FOUND", "the account no longer exists")
        session, token = await tx.start_session(user_id, tenant_id)
    return await _pair(deps, session, token, membership.role,
                       platform_operator=user.platform_operator)


async def change_password(user_id: uuid.UUID, tenant_id: uuid.UUID, current: str, new: str,
                          deps: Deps) -> TokenPair:
    async with deps.store.transaction() as tx:
        user = await tx.user_by_id(user_id)
    if user is None or not await deps.hasher.verify(user.password_hash, current):
        raise PermissionDenied("WRONG_PASSWORD", "the current password is incorrect")
    new_hash = await deps.hasher.hash(new)
    membership = await deps.tenants.membership(tenant_id, user_id)
    if membership is None:
        raise PermissionDenied("NOT_A_MEMBER", "you are no longer a member of this tenant")
    async with deps.store.transaction() as tx:
        await tx.set_password_hash(user_id, new_hash)
        await tx.revoke_user_sessions(user_id, "password changed")
        session, token = await tx.start_session(user_id, tenant_id)
    return await _pair(deps, session, token, membership.role,
                       platform_operator=user.platform_operator)


async def me(user_id: uuid.UUID, deps: Deps) -> tuple[User, list[MembershipView]]:
    async with deps.store.transaction() as tx:
        user = await tx.user_by_id(user_id)
    if user is None:
        raise NotFound("USER_NOT_FOUND", "user not found")
    return user, await deps.tenants.memberships(user_id)


@dataclass(frozen=True)
class AcceptInvitation:
    token: str
    password: str
    display_name: str
    client_ip: str


async def accept_invitation(cmd: AcceptInvitation, deps: Deps,
                            password_problem: Callable[[str, list[str]], str | None]
                            ) -> tuple[User, TokenPair, bool]:
    """Join the invited tenant: an existing account proves itself with its password (throttled
    like a sign-in); a new one is created, and rolled back if the invitation cannot be redeemed."""
    invitation = await deps.tenants.peek_invitation(cmd.token)
    if invitation is None:
        raise NotFound("INVITATION_NOT_FOUND", "this invitation does not exist")
    async with deps.store.transaction() as tx:
        user = await tx.user_by_email(invitation.email)
    if user is not None:
        account = account_key(user.email)
        wait = retry_after_s(await deps.attempts.counts(account, cmd.client_ip))
        if wait > 0:
            raise ResourceExhausted("LOGIN_THROTTLED", "too many failed sign-ins; try again "
                                    "later", retry_after_s=wait)
        if not await deps.hasher.verify(user.password_hash, cmd.password):
            await deps.attempts.failed(account, cmd.client_ip)
            raise Unauthenticated("INVALID_CREDENTIALS", INVALID_CREDENTIALS)
        await deps.attempts.succeeded(account, cmd.client_ip)
        async with deps.store.transaction() as tx:
            membership = await _redeem(deps, cmd.token, user)
            session, refresh = await tx.start_session(user.id, membership.tenant_id)
        return user, await _pair(deps, session, refresh, membership.role,
                                 platform_operator=user.platform_operator), False
    problems = {}
    if not cmd.display_name.strip():
        problems["display_name"] = "is required for a new account"
    if problem := password_problem(cmd.password, [invitation.email, cmd.display_name]):
        problems["password"] = problem
    if problems:
        raise InvalidArgument([FieldViolation(f, d) for f, d in problems.items()])
    new_user = User(id=uuid.uuid4(), email=invitation.email,
                    display_name=cmd.display_name.strip(),
                    password_hash=await deps.hasher.hash(cmd.password),
                    platform_operator=False, created_at=deps.clock.now())
    async with deps.store.transaction() as tx:  # uncommitted until the tenant accepted us
        await tx.add_user(new_user)
        membership = await _redeem(deps, cmd.token, new_user)
        session, refresh = await tx.start_session(new_user.id, membership.tenant_id)
    return new_user, await _pair(deps, session, refresh, membership.role), True


async def _redeem(deps: Deps, token: str, user: User) -> MembershipView:
    membership = await deps.tenants.redeem_invitation(token, user.id, user.email)
    if membership is None:
        raise NotFound("INVITATION_NOT_FOUND", "this invitation does not exist")
    return membership
