"""Contacts: people a tenant can message, identified per tenant by an E.164 phone number."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from tucano_kit.errors import FailedPrecondition

MAX_TAGS = 50
TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,63}$")


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 form of `raw` (e.g. "+55 11 98765-4321" -> "+5511987654321"), or InvalidPhoneNumber.

    Without a default region the number must carry its country code ("+...")."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("not a valid phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


MAX_DISPLAY_NAME = 256
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize_display_name(raw: str) -> str:
    """Trimmed; ValueError when too long or holding control characters (PostgreSQL text cannot
    even store NUL)."""
    name = raw.strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"must be at most {MAX_DISPLAY_NAME} characters")
    if CONTROL.search(name):
        raise ValueError("must not contain control characters")
    return name


def check_contact_limit(contacts_after: int, max_contacts: int) -> None:
    """A write that would leave the tenant with more contacts than its plan allows is refused."""
    if contacts_after > max_contacts:
        raise FailedPrecondition(
            "CONTACT_LIMIT_REACHED",
            f"the tenant's plan allows {max_contacts} contacts; this would make"
            f" {contacts_after}", {"max_contacts": str(max_contacts),
                                   "contacts_after": str(contacts_after)})


def normalize_tags(tags: list[str]) -> list[str]:
    """Lower-cased, de-duplicated, order kept; ValueError naming the first bad tag."""
    out: list[str] = []
    for tag in tags:
        norm = tag.strip().lower()
        if not TAG.match(norm):
            raise ValueError(f"tag {tag!r} must be 1-64 of a-z 0-9 _ - : . (starting alphanumeric)")
        if norm not in out:
            out.append(norm)
    if len(out) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return out


@dataclass(frozen=True)
class Contact:
    tenant_id: uuid.UUID
    phone_number: str
    display_name: str
    tags: list[str] = field(default_factory=list)
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime | None = None
