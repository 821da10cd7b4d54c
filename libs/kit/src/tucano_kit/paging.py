"""Opaque page tokens (AIP-158): keyset cursors encoded as url-safe base64 JSON.

A token is bound to the query that produced it (`scope`), so a token from one list cannot be
replayed against another; a tampered or foreign token is an InvalidArgument on `page_token`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from tucano_kit.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(value: int, field: str = "page_size") -> int:
    if value < 0:
        raise InvalidArgument([FieldViolation(field, "must not be negative")])
    return DEFAULT_PAGE_SIZE if value == 0 else min(value, MAX_PAGE_SIZE)


def encode(scope: str, cursor: list[Any]) -> str:
    raw = json.dumps({"s": scope, "c": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(scope: str, token: str, field: str = "page_token") -> list[Any] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["s"] == scope and isinstance(data["c"], list):
            return list(data["c"])
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        pass
    raise InvalidArgument([FieldViolation(field, "is not a page token of this list")])


def encode_after(scope: str, created_at: datetime, row_id: uuid.UUID) -> str:
    """A token for keyset paging on (created_at, id), the order every list here uses."""
    return encode(scope, [created_at.isoformat(), str(row_id)])


def decode_after(scope: str, token: str,
                 field: str = "page_token") -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) a token from `encode_after` carries; InvalidArgument if forged."""
    cursor = decode(scope, token, field)
    if cursor is None:
        return None
    try:
        created_at, row_id = cursor
        return datetime.fromisoformat(str(created_at)), uuid.UUID(str(row_id))
    except (ValueError, TypeError):
        raise InvalidArgument([FieldViolation(field, "is not a page token of this list")]) from None
