"""Users, sessions and refresh tokens in PostgreSQL (the AuthStore port)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator

import asyncpg
from tucano_kit.amqp import inbox
from tucano_kit.errors import AlreadyExists

from tucano_auth.application.ports import RefreshGrant
from tucano_auth.domain.sessions import Session
from tucano_auth.domain.users import User

REFRESH_PREFIX = "rt_"

_SESSION = "s.id, s.user_id, s.scope_tenant_id, s.created_at, s.last_used_at, s.revoked_at"
_USER = "id, email, display_name, password_hash, platform_operator, created_at"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)  # 256 bits


def _session(row: asyncpg.Record) -> Session:
    return Session(id=row["id"], user_id=row["user_id"], tenant_id=row["scope_tenant_id"],
                   created_at=row["created_at"], last_used_at=row["last_used_at"],
                   revoked_at=row["revoked_at"])


def _user(row: asyncpg.Record | None) -> User | None:
    return User(**dict(row)) if row else None


class PostgresAuthTransaction:
    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def add_user(self, user: User) -> None:
        try:
            async with self._conn.transaction():  # savepoint: the error must not poison ours
                await self._conn.execute(
                    "INSERT INTO users (id, email, display_name, password_hash,"
                    " platform_operator, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    user.id, user.email, user.display_name, user.password_hash,
                    user.platform_operator, user.created_at)
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("EMAIL_TAKEN", "an account with this email exists") from None

    async def user_by_email(self, email: str) -> User | None:
        return _user(await self._conn.fetchrow(f"SELECT {_USER} FROM users WHERE email = $1",
                                               email))

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return _user(await self._conn.fetchrow(f"SELECT {_USER} FROM users WHERE id = $1",
                                               user_id))

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self._conn.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = clock_timestamp()"
            " WHERE id = $1", user_id, password_hash)

    async def set_platform_operator(self, email: str, on: bool) -> bool:
        result = await self._conn.execute(
            "UPDATE users SET platform_operator = $2 WHERE email = $1", email, on)
        return bool(result == "UPDATE 1")

    async def start_session(self, user_id: uuid.UUID, tenant_id: uuid.UUID
                            ) -> tuple[Session, str]:
        row = await self._conn.fetchrow(
            "INSERT INTO sessions AS s (id, user_id, scope_tenant_id) VALUES ($1, $2, $3)"
            f" RETURNING {_SESSION}", uuid.uuid4(), user_id, tenant_id)
        session = _session(row)
        return session, await self._issue(session.id)

    async def _issue(self, session_id: uuid.UUID) -> str:
        token = new_refresh_token()
        await self._conn.execute(
            "INSERT INTO refresh_tokens (token_sha256, session_id) VALUES ($1, $2)",
            _digest(token), session_id)
        return token

    async def redeem(self, refresh_token: str) -> RefreshGrant | None:
        if not refresh_token.startswith(REFRESH_PREFIX) or len(refresh_token) > 100:
            return None
        row = await self._conn.fetchrow(
            f"SELECT {_SESSION}, r.used_at FROM refresh_tokens r"
            " JOIN sessions s ON s.id = r.session_id WHERE r.token_sha256 = $1"
            " FOR UPDATE OF r, s", _digest(refresh_token))
        if row is None:
            return None
        if row["used_at"] is None:
            await self._conn.execute(
                "UPDATE refresh_tokens SET used_at = clock_timestamp() WHERE token_sha256 = $1",
                _digest(refresh_token))
        return RefreshGrant(session=_session(row), already_used=row["used_at"] is not None)

    async def rotate(self, session_id: uuid.UUID) -> str:
        await self._conn.execute(
            "UPDATE sessions SET last_used_at = clock_timestamp() WHERE id = $1", session_id)
        return await self._issue(session_id)

    async def revoke_session(self, session_id: uuid.UUID, reason: str) -> bool:
        result = await self._conn.execute(
            "UPDATE sessions SET revoked_at = clock_timestamp(), revoked_reason = $2"
            " WHERE id = $1 AND revoked_at IS NULL", session_id, reason)
        return bool(result != "UPDATE 0")

    async def revoke_user_sessions(self, user_id: uuid.UUID, reason: str,
                                   tenant_id: uuid.UUID | None = None) -> int:
        result = await self._conn.execute(
            "UPDATE sessions SET revoked_at = clock_timestamp(), revoked_reason = $2"
            " WHERE user_id = $1 AND revoked_at IS NULL"
            " AND ($3::uuid IS NULL OR scope_tenant_id = $3)", user_id, reason, tenant_id)
        return int(result.split()[-1])


    async def revoke_tenant_sessions(self, tenant_id: uuid.UUID, reason: str) -> int:
        result = await self._conn.execute(
            "UPDATE sessions SET revoked_at = clock_timestamp(), revoked_reason = $2"
            " WHERE scope_tenant_id = $1 AND revoked_at IS NULL", tenant_id, reason)
        return int(result.split()[-1])

    async def claim(self, consumer: str, message_id: str) -> bool:
        return await inbox.claim(self._conn, consumer, message_id)


class PostgresAuthStore:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresAuthTransaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresAuthTransaction(conn)
