"""Sessions: one refresh-token family per sign-in, scoped to one tenant.

Every refresh rotates the token. A rotated token presented again means it leaked (or two
clients race): the whole family is revoked (RFC 9700 §4.14.2). A family also ends after an
absolute lifetime, after an idle period, at logout, and when the membership it was issued for
is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

ABSOLUTE_LIFETIME = timedelta(days=30)
IDLE_TIMEOUT = timedelta(days=7)


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None


def session_problem(session: Session, now: datetime) -> str | None:
    """Why the family can no longer be refreshed, as an ErrorInfo reason, or None."""
    if session.revoked_at is not None:
        return "SESSION_REVOKED"
    if now >= session.created_at + ABSOLUTE_LIFETIME:
        return "SESSION_EXPIRED"
    if now >= session.last_used_at + IDLE_TIMEOUT:
        return "SESSION_IDLE"
    return None
