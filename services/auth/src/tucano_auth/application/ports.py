"""Ports of the auth application layer."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tucano_auth.domain.keys import SigningKey
from tucano_auth.domain.sessions import Session
from tucano_auth.domain.throttle import Counts
from tucano_auth.domain.users import User


class KeyMaterial(Protocol):
    """Creates key pairs and seals private keys; the application never sees key bytes."""

    def generate(self) -> tuple[str, dict[str, object], bytes]:
        """A new key: (kid, public JWK, sealed private key)."""
        ...


class KeyRepository(Protocol):
    async def list(self) -> list[SigningKey]: ...

    async def rotate(self, kid: str, public_jwk: dict[str, object], sealed_private_key: bytes,
                     *, only_if_none_active: bool, publish_lead_s: float = 0.0) -> bool:
        """Store a new key, published now and signing from `publish_lead_s` on, when the
        previous one retires; atomically. With `only_if_none_active`, do nothing (return
        False) if a key exists."""
        ...

    async def active_private_key(self) -> tuple[str, bytes]:
        """(kid, sealed private key) of the active key."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token resolved to: its session, and whether it had been used before."""

    session: Session
    already_used: bool


class AuthTransaction(Protocol):
    """One database transaction of the auth store; nothing is visible to others until commit."""

    async def add_user(self, user: User) -> None:
        """Raises AlreadyExists(EMAIL_TAKEN) if the email is registered."""
        ...

    async def user_by_email(self, email: str) -> User | None: ...

    async def user_by_id(self, user_id: uuid.UUID) -> User | None: ...

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None: ...

    async def start_session(self, user_id: uuid.UUID, tenant_id: uuid.UUID) -> tuple[Session, str]:
        """A new refresh-token family; returns it and its first (plaintext) refresh token."""
        ...

    async def redeem(self, refresh_token: str) -> RefreshGrant | None:
        """Mark the token used (row-locked, so of two concurrent redeems one sees it used)."""
        ...

    async def rotate(self, session_id: uuid.UUID) -> str:
        """Issue the family's next refresh token and touch its last use."""
        ...

    async def revoke_session(self, session_id: uuid.UUID, reason: str) -> bool: ...

    async def revoke_user_sessions(self, user_id: uuid.UUID, reason: str,
                                   tenant_id: uuid.UUID | None = None) -> int: ...

    async def revoke_tenant_sessions(self, tenant_id: uuid.UUID, reason: str) -> int: ...

    async def claim(self, consumer: str, message_id: str) -> bool:
        """Inbox: True the first time this message is handled (in this transaction)."""
        ...


class AuthStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[AuthTransaction]: ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant work whether or not a hash exists (None: compare with a dummy)."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class MembershipView:
    tenant_id: uuid.UUID
    tenant_name: str
    role: str


@dataclass(frozen=True)
class InvitationView:
    email: str
    tenant_id: uuid.UUID
    tenant_name: str
    role: str


class Tenants(Protocol):
    """The tenants service, as auth needs it."""

    async def create_tenant(self, name: str, owner: uuid.UUID, request_id: uuid.UUID
                            ) -> uuid.UUID: ...

    async def abandon_tenant(self, tenant_id: uuid.UUID, owner: uuid.UUID) -> None: ...

    async def membership(self, tenant_id: uuid.UUID, user_id: uuid.UUID
                         ) -> MembershipView | None: ...

    async def memberships(self, user_id: uuid.UUID) -> list[MembershipView]: ...

    async def peek_invitation(self, token: str) -> InvitationView | None:
        """What a usable invitation token is for; None if it does not exist (refusals for
        used, revoked or expired ones are raised as FailedPrecondition)."""
        ...

    async def redeem_invitation(self, token: str, user_id: uuid.UUID, email: str
                                ) -> MembershipView | None: ...


class TokenIssuer(Protocol):
    async def sign(self, *, subject: str, tenant_id: str | None = None, role: str | None = None,
                   session_id: str | None = None, extra: dict[str, object] | None = None
                   ) -> str: ...

    @property
    def ttl_s(self) -> int: ...


class LoginAttempts(Protocol):
    """Counters behind the throttling policy (Redis, with a local fallback)."""

    async def counts(self, account: str, ip: str) -> Counts: ...

    async def failed(self, account: str, ip: str) -> None: ...

    async def succeeded(self, account: str, ip: str) -> None: ...
