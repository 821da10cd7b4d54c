"""Users: who can sign in. Emails are unique case-insensitively (stored lower-cased)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

MAX_EMAIL = 254
MAX_DISPLAY_NAME = 120
# Deliberately permissive (RFC 5322 allows far more than anyone uses); the mailbox is proven
# by a later verification mail, not by a regex.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str
    password_hash: str
    platform_operator: bool
    created_at: datetime


def normalize_email(raw: str) -> str:
    """Lower-cased, trimmed email; ValueError if it is not an address."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise ValueError("is not an email address")
    return email


def display_name_problem(name: str) -> str | None:
    if not name.strip():
        return "is required"
    if len(name) > MAX_DISPLAY_NAME:
        return f"must be at most {MAX_DISPLAY_NAME} characters"
    if any(ord(c) < 32 for c in name):
        return "must not contain control characters"
    return None
