"""argon2id password hashing (OWASP: m=19 MiB, t=2, p=1), off the event loop and capped in
concurrency, so a burst of sign-ins cannot take every core (ASVS/A7)."""

from __future__ import annotations

import asyncio

import argon2

TIME_COST = 2
MEMORY_KIB = 19 * 1024
PARALLELISM = 1


class Argon2Hasher:
    def __init__(self, max_concurrent: int = 2):
        self._hasher = argon2.PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB,
                                             parallelism=PARALLELISM, type=argon2.Type.ID)
        self._slots = asyncio.Semaphore(max_concurrent)
        # Compared against when the account does not exist, so both paths cost the same.
        self._dummy = self._hasher.hash("tucano-dummy-password-for-timing")

    def __repr__(self) -> str:
        return "Argon2Hasher()"

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(password_hash or self._dummy, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
