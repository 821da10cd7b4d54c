"""Read-side handlers."""

from __future__ import annotations

from tucano_tenants.application.ports import PlanCatalogue
from tucano_tenants.domain.plans import Plan


async def list_plans(catalogue: PlanCatalogue) -> list[Plan]:
    """Every plan, cheapest first."""
    return await catalogue.list()
