"""Collects every field violation of a request, then raises them together as InvalidArgument.

Each servicer parses a request in one function that uses a `Violations`; handlers receive
commands that are already valid.
"""

from __future__ import annotations

import uuid
from types import TracebackType

from tucano_kit.errors import FieldViolation, InvalidArgument


class Violations:
    """Context manager: `with Violations() as v: v.require(...)`; raises on exit if any failed."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> bool:
        if not ok:
            self.add(field, description)
        return ok

    def text(self, value: str, field: str, *, required: bool = False, max_len: int = 256) -> str:
        """A trimmed string field: present when required, at most max_len characters."""
        value = value.strip()
        if required and not value:
            self.add(field, "is required")
        elif len(value) > max_len:
            self.add(field, f"must be at most {max_len} characters")
        return value

    def uuid(self, value: str, field: str, *, required: bool = True) -> uuid.UUID | None:
        if not value:
            if required:
                self.add(field, "is required")
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.add(field, "must be a UUID")
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    def __enter__(self) -> Violations:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.raise_if_any()
