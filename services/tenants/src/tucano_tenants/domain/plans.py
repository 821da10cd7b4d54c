"""Plans: named bundles of limits a tenant gets unless an operator overrides them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    id: str
    display_name: str
    api_requests_per_second: int
    api_requests_per_minute: int
    monthly_message_quota: int
    max_contacts: int


@dataclass(frozen=True)
class Limits:
    """What one tenant may do: its plan's limits with any operator overrides applied."""

    plan_id: str
    api_requests_per_second: int
    api_requests_per_minute: int
    monthly_message_quota: int
    max_contacts: int
