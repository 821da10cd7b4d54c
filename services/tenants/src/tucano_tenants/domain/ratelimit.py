"""Rate limits at the Envoy edge, as pure decisions.

Envoy's ratelimit filter sends, for each request, descriptors (lists of key/value entries) in
the domain `tucano`. This module says which of them are limited and how:

    [tenant=<id>]                           the tenant's plan: API requests per second AND
                                            per minute (both windows must have room)
    [tenant=<id>, route=import|launch]      heavy routes, per tenant: fixed per-minute limits
    [route=auth, remote_address=<ip>]       sign-in, per client address: a fixed per-minute limit
    anything else                           not limited: we don't limit what we don't know

Every limit is a set of fixed windows (`Window`); a rule's windows are counted by a `Counter`
(see application/ports.py), which counts a request in all windows of all its descriptors or in
none. From the counts this module derives one verdict per descriptor (the window to report,
what remains, when it resets) and the Retry-After of a refused request.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from tucano_tenants.domain.plans import Limits

DOMAIN = "tucano"
"""The ratelimit domain Envoy's filter is configured with; other domains are not limited."""

Entries = tuple[tuple[str, str], ...]
"""One descriptor: its (key, value) entries, in Envoy's order."""

HEAVY_ROUTES = ("import", "launch")
SIGN_IN_ROUTE = "auth"


class Unit(enum.Enum):
    """A window's length; the value is in seconds."""

    SECOND = 1
    MINUTE = 60

    @property
    def tag(self) -> str:
        return self.name[0].lower()


@dataclass(frozen=True)
class Window:
    """At most `limit` requests per fixed `unit` window (windows start at multiples of the
    unit since the epoch, so every process agrees on them)."""

    limit: int
    unit: Unit

    def index(self, now: float) -> int:
        return int(now // self.unit.value)

    def reset_after(self, now: float) -> float:
        """Seconds until the current window ends and its count starts again from zero."""
        return (self.index(now) + 1) * self.unit.value - now

    def share(self, parts: int) -> Window:
        """This window's limit split between `parts` processes, rounded down so that all of
        them together never allow more than the limit (a share can be 0)."""
        return Window(self.limit // parts, self.unit)


@dataclass(frozen=True)
class Slot:
    """One window of one rule: what a counter counts (its count survives a change of the
    window's limit, e.g. a plan upgrade, within the window)."""

    rule: str
    window: Window

    def share(self, parts: int) -> Slot:
        return Slot(self.rule, self.window.share(parts))


@dataclass(frozen=True)
class Usage:
    """A slot as a counter saw it: the limit it applied and its count after the request (or
    before it, when the request was refused and counted nowhere)."""

    slot: Slot
    count: int


@dataclass(frozen=True)
class Consumption:
    """A counter's answer for one request: whether it was counted (in every slot) or refused
    (counted in none), and each slot's usage in the order asked."""

    allowed: bool
    usages: tuple[Usage, ...]


@dataclass(frozen=True)
class RouteLimits:
    """The fixed limits of heavy routes and sign-in (settings, not plans)."""

    imports_per_minute: int
    launches_per_minute: int
    sign_ins_per_address_per_minute: int


@dataclass(frozen=True)
class TenantApi:
    tenant: str


@dataclass(frozen=True)
class HeavyRoute:
    tenant: str
    route: str


@dataclass(frozen=True)
class SignIn:
    address: str


Subject = TenantApi | HeavyRoute | SignIn


def subject_of(entries: Entries) -> Subject | None:
    """What a descriptor limits, or None when it is not one we know (keys in any order; a
    repeated key or an empty value makes it unknown)."""
    keys = dict(entries)
    if len(keys) != len(entries) or not all(keys.values()):
        return None
    if keys.keys() == {"tenant"}:
        return TenantApi(keys["tenant"])
    if keys.keys() == {"tenant", "route"} and keys["route"] in HEAVY_ROUTES:
        return HeavyRoute(keys["tenant"], keys["route"])
    if keys.keys() == {"route", "remote_address"} and keys["route"] == SIGN_IN_ROUTE:
        return SignIn(keys["remote_address"])
    return None


@dataclass(frozen=True)
class Rule:
    """A named counter and its windows; a request must fit in all of them."""

    name: str
    windows: tuple[Window, ...]

    def slots(self) -> tuple[Slot, ...]:
        return tuple(Slot(self.name, w) for w in self.windows)


def tenant_rule(tenant: str, limits: Limits) -> Rule:
    return Rule(f"tenant:{tenant}", (Window(limits.api_requests_per_second, Unit.SECOND),
                                     Window(limits.api_requests_per_minute, Unit.MINUTE)))


def fixed_rule(subject: HeavyRoute | SignIn, routes: RouteLimits) -> Rule:
    if isinstance(subject, SignIn):
        return Rule(f"auth:{subject.address}",
                    (Window(routes.sign_ins_per_address_per_minute, Unit.MINUTE),))
    per_minute = (routes.imports_per_minute if subject.route == "import"
                  else routes.launches_per_minute)
    return Rule(f"tenant:{subject.tenant}:{subject.route}", (Window(per_minute, Unit.MINUTE),))


@dataclass(frozen=True)
class Verdict:
    """One limited descriptor's status: the window reported (the violated one, else the one
    with the least room), what remains in it and when it resets."""

    over_limit: bool
    window: Window
    remaining: int
    reset_after_s: float


def verdict(usages: Sequence[Usage], allowed: bool, hits: int, now: float) -> Verdict:
    """The status of one rule from its windows' usages. A window is violated when the request
    was refused and would not have fitted in it; when another descriptor refused the request,
    this one is OK and its remaining room is untouched."""
    violated = [u for u in usages if not allowed and u.count + hits > u.slot.window.limit]
    if violated:
        # The request can pass again only when every violated window has reset.
        worst = max(violated, key=lambda u: u.slot.window.reset_after(now))
        return Verdict(True, worst.slot.window, max(0, worst.slot.window.limit - worst.count),
                       worst.slot.window.reset_after(now))
    tightest = min(usages, key=lambda u: (u.slot.window.limit - u.count,
                                          -u.slot.window.reset_after(now)))
    return Verdict(False, tightest.slot.window,
                   max(0, tightest.slot.window.limit - tightest.count),
                   tightest.slot.window.reset_after(now))


@dataclass(frozen=True)
class Decision:
    """The answer to one check: a verdict per descriptor, in order (None: not limited)."""

    statuses: tuple[Verdict | None, ...]

    @property
    def over_limit(self) -> bool:
        return any(v is not None and v.over_limit for v in self.statuses)

    @property
    def retry_after_s(self) -> int | None:
        """Whole seconds (at least 1) until every violated window has room again; None when
        the request is allowed."""
        resets = [v.reset_after_s for v in self.statuses if v is not None and v.over_limit]
        return max(1, math.ceil(max(resets))) if resets else None
