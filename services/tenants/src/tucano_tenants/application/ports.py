"""Ports the application needs; adapters implement them, tests fake them."""

from __future__ import annotations

from typing import Protocol

from tucano_tenants.domain.plans import Plan


class PlanCatalogue(Protocol):
    async def list(self) -> list[Plan]: ...
