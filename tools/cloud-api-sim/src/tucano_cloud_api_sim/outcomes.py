"""What happens to a send: forced outcomes per recipient, the planned status sequence, and the
pricing a status carries. Pure functions and small registries; no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, NamedTuple

from .settings import Settings

FORCE_OUTCOMES = frozenset({"error", "fail", "slow", "held", "accept"})

SENT = "sent"
DELIVERED = "delivered"
READ = "read"
FAILED = "failed"


@dataclass(slots=True)
class Force:
    """A test hook: the next sends to one recipient get this outcome.

    error: refused synchronously with ``code``; fail: accepted, then a ``failed`` status with
    ``code``; slow: accepted, answered after ``seconds``; held: ``held_for_quality_assessment``;
    accept: accepted, exempt from random error injection.
    """

    outcome: str
    code: int | None = None
    seconds: float = 0.0
    remaining: int | None = None  # None: until cleared
    phone_number_id: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "code": self.code,
            "seconds": self.seconds,
            "remaining": self.remaining,
            "phone_number_id": self.phone_number_id,
        }


class ForceRegistry:
    def __init__(self) -> None:
        # Public so the send path can test "any forces at all?" without a method call.
        self.entries: dict[str, Force] = {}
        self._by_recipient = self.entries

    def set(self, recipient: str, force: Force) -> None:
        self._by_recipient[recipient] = force

    def clear(self, recipient: str | None = None) -> int:
        if recipient is None:
            count = len(self._by_recipient)
            self._by_recipient.clear()
            return count
        return 1 if self._by_recipient.pop(recipient, None) else 0

    def take(self, recipient: str, phone_number_id: str) -> Force | None:
        force = self._by_recipient.get(recipient)
        if force is None:
            return None
        if force.phone_number_id is not None and force.phone_number_id != phone_number_id:
            return None
        if force.remaining is not None:
            force.remaining -= 1
            if force.remaining <= 0:
                del self._by_recipient[recipient]
        return force

    def view(self) -> dict[str, dict[str, Any]]:
        return {r: f.view() for r, f in self._by_recipient.items()}


class PlannedStatus(NamedTuple):
    deliver_after: float  # seconds after acceptance the webhook is due
    status: str
    with_pricing: bool
    happened_after: float  # seconds after acceptance the status "happened" (its timestamp)


def plan_statuses(
    rng: random.Random, settings: Settings, failure_code: int | None
) -> list[PlannedStatus]:
    """The statuses a message goes through, in the order they happened.

    Pricing rides on ``sent`` and on the first of ``delivered``/``read`` as in Meta's
    reference; ``read`` can come without ``delivered`` (the user had the chat open); a
    failure comes alone. Out-of-order delivery swaps when ``sent`` and ``delivered`` go out,
    while their timestamps stay truthful.
    """
    first = settings.sent_delay_s
    if failure_code is not None:
        return [PlannedStatus(first, FAILED, False, first)]
    plan = [PlannedStatus(first, SENT, True, first)]
    delivered_at = first + settings.delivered_delay_s
    read = settings.read_rate >= 1.0 or rng.random() < settings.read_rate
    skip_delivered = (
        read and settings.skip_delivered_rate > 0 and rng.random() < settings.skip_delivered_rate
    )
    if not skip_delivered:
        plan.append(PlannedStatus(delivered_at, DELIVERED, True, delivered_at))
    if read:
        read_at = delivered_at + settings.read_delay_s
        plan.append(PlannedStatus(read_at, READ, skip_delivered, read_at))
    if (
        not skip_delivered
        and settings.out_of_order_rate > 0
        and rng.random() < settings.out_of_order_rate
    ):
        sent, delivered = plan[0], plan[1]
        plan[0] = sent._replace(deliver_after=delivered.deliver_after)
        plan[1] = delivered._replace(deliver_after=sent.deliver_after)
    return plan


def pricing(category: str, in_service_window: bool, entry_point: bool = False) -> dict[str, Any]:
    """Meta's per-message pricing object (PMP, webhook v24+ ``type``). Inside a free entry
    point window (the user came from a click-to-WhatsApp ad) every message is free."""
    if entry_point:
        return {
            "billable": False,
            "pricing_model": "PMP",
            "category": "referral_conversion",
            "type": "free_entry_point",
        }
    if category == "service" or (category == "utility" and in_service_window):
        return {
            "billable": False,
            "pricing_model": "PMP",
            "category": category,
            "type": "free_customer_service",
        }
    return {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}
