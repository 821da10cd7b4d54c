"""Signup's all-or-nothing promise, with fakes implementing the ports."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tucano_auth.application.accounts import Deps, Signup, signup
from tucano_auth.application.ports import MembershipView
from tucano_auth.domain.sessions import Session
from tucano_auth.domain.users import User
from tucano_kit.errors import AlreadyExists, Unavailable

NOW = datetime(2026, 12, 3, tzinfo=UTC)


class FakeTx:
    def __init__(self, store: FakeStore):
        self.store, self.users = store, dict(store.users)

    async def add_user(self, user: User) -> None:
        if any(u.email == user.email for u in self.users.values()):
            raise AlreadyExists("EMAIL_TAKEN", "taken")
        self.users[user.id] = user

    async def start_session(self, user_id: uuid.UUID, tenant_id: uuid.UUID
                            ) -> tuple[Session, str]:
        return Session(uuid.uuid4(), user_id, tenant_id, NOW, NOW, None), "rt_x"


class FakeStore:
    def __init__(self, fail_commit: bool = False):
        self.users: dict[uuid.UUID, User] = {}
        self.fail_commit = fail_commit

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeTx]:
        tx = FakeTx(self)
        yield tx
        if self.fail_commit:
            raise ConnectionError("commit lost")
        self.users = tx.users


class FakeTenants:
    def __init__(self, down: bool = False):
        self.down = down
        self.created: list[uuid.UUID] = []
        self.abandoned: list[uuid.UUID] = []

    async def create_tenant(self, name: str, owner: uuid.UUID, request_id: uuid.UUID
                            ) -> uuid.UUID:
        if self.down:
            raise Unavailable("TENANTS_UNAVAILABLE", "down")
        tenant = uuid.uuid4()
        self.created.append(tenant)
        return tenant

    async def abandon_tenant(self, tenant_id: uuid.UUID, owner: uuid.UUID) -> None:
        self.abandoned.append(tenant_id)

    async def membership(self, *a: Any) -> MembershipView | None:
        return None

    async def memberships(self, *a: Any) -> list[MembershipView]:
        return []


class FakeHasher:
    async def hash(self, password: str) -> str:
        return f"$argon2id$fake${password[::-1]}"


class FakeTokens:
    ttl_s = 600

    async def sign(self, **claims: Any) -> str:
        return f"jwt-for-{claims['subject']}"


class FixedClock:
    def now(self) -> datetime:
        return NOW


def deps(store: FakeStore, tenants: FakeTenants) -> Deps:
    return Deps(store=store, hasher=FakeHasher(), tenants=tenants, tokens=FakeTokens(),  # type: ignore[arg-type]
                attempts=None, clock=FixedClock())  # type: ignore[arg-type]


COMMAND = Signup(email="ada@example.com", password="correct horse battery staple",
                 display_name="Ada", tenant_name="Engines")


async def test_signup_creates_user_tenant_and_owner_tokens() -> None:
    store, tenants = FakeStore(), FakeTenants()
    user, pair = await signup(COMMAND, deps(store, tenants))
    assert list(store.users) == [user.id]
    assert pair.tenant_id == tenants.created[0] and pair.role == "owner"


async def test_when_the_tenant_cannot_be_created_no_user_is_left() -> None:
    store, tenants = FakeStore(), FakeTenants(down=True)
    with pytest.raises(Unavailable):
        await signup(COMMAND, deps(store, tenants))
    assert store.users == {} and tenants.abandoned == []


async def test_when_the_user_commit_fails_the_new_tenant_is_abandoned() -> None:
    store, tenants = FakeStore(fail_commit=True), FakeTenants()
    with pytest.raises(ConnectionError):
        await signup(COMMAND, deps(store, tenants))
    assert store.users == {} and tenants.abandoned == tenants.created != []
