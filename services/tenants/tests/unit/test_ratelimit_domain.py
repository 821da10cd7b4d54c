"""Rate-limit decisions: which descriptors are limited, and what a refusal tells Envoy."""

from __future__ import annotations

from tucano_tenants.domain.plans import Limits
from tucano_tenants.domain.ratelimit import (
    Decision,
    HeavyRoute,
    RouteLimits,
    SignIn,
    Slot,
    TenantApi,
    Unit,
    Usage,
    Verdict,
    Window,
    fixed_rule,
    subject_of,
    tenant_rule,
    verdict,
)

TID = "5b7c1a3e-0000-4000-8000-000000000001"
FREE = Limits(plan_id="free", api_requests_per_second=5, api_requests_per_minute=100,
              monthly_message_quota=1000, max_contacts=1000)
ROUTES = RouteLimits(imports_per_minute=10, launches_per_minute=30,
                     sign_ins_per_address_per_minute=20)


def test_the_contracts_descriptors_are_recognised_in_any_key_order() -> None:
    assert subject_of((("tenant", TID),)) == TenantApi(TID)
    assert subject_of((("tenant", TID), ("route", "import"))) == HeavyRoute(TID, "import")
    assert subject_of((("route", "launch"), ("tenant", TID))) == HeavyRoute(TID, "launch")
    assert subject_of((("route", "auth"), ("remote_address", "203.0.113.9"))) == SignIn(
        "203.0.113.9")


def test_descriptors_we_do_not_know_are_not_limited() -> None:
    for entries in [(), (("generic_key", "x"),), (("tenant", ""),),
                    (("tenant", TID), ("route", "export")),
                    (("tenant", TID), ("tenant", TID)),
                    (("route", "auth"),),
                    (("route", "signup"), ("remote_address", "203.0.113.9")),
                    (("tenant", TID), ("route", "import"), ("extra", "1"))]:
        assert subject_of(entries) is None, entries


def test_a_tenant_is_held_to_both_windows_of_its_plan() -> None:
    rule = tenant_rule(TID, FREE)
    assert rule.name == f"tenant:{TID}"
    assert rule.windows == (Window(5, Unit.SECOND), Window(100, Unit.MINUTE))


def test_heavy_routes_and_sign_in_have_fixed_per_minute_limits() -> None:
    assert fixed_rule(HeavyRoute(TID, "import"), ROUTES).windows == (Window(10, Unit.MINUTE),)
    assert fixed_rule(HeavyRoute(TID, "launch"), ROUTES).windows == (Window(30, Unit.MINUTE),)
    assert fixed_rule(SignIn("::1"), ROUTES).windows == (Window(20, Unit.MINUTE),)
    assert fixed_rule(SignIn("::1"), ROUTES).name == "auth:::1"


def test_windows_are_aligned_to_the_clock_so_every_process_agrees() -> None:
    minute = Window(100, Unit.MINUTE)
    assert minute.index(120.0) == minute.index(179.9) == 2
    assert minute.reset_after(150.0) == 30.0
    assert Window(5, Unit.SECOND).reset_after(10.25) == 0.75


def test_a_share_never_lets_the_processes_together_exceed_the_limit() -> None:
    assert Window(5, Unit.SECOND).share(2) == Window(2, Unit.SECOND)
    assert Window(100, Unit.MINUTE).share(3).limit * 3 <= 100
    assert Window(1, Unit.SECOND).share(2).limit == 0


def _usages(second: int, minute: int) -> list[Usage]:
    return [Usage(Slot("t", Window(5, Unit.SECOND)), second),
            Usage(Slot("t", Window(100, Unit.MINUTE)), minute)]


def test_an_allowed_request_reports_the_window_with_least_room() -> None:
    now = 60.5  # half a second into both windows' start
    assert verdict(_usages(2, 10), True, 1, now) == Verdict(False, Window(5, Unit.SECOND), 3,
                                                            0.5)
    assert verdict(_usages(1, 99), True, 1, now) == Verdict(False, Window(100, Unit.MINUTE), 1,
                                                            59.5)


def test_a_refusal_reports_the_violated_window_and_waits_for_the_latest_reset() -> None:
    now = 60.5
    assert verdict(_usages(5, 10), False, 1, now) == Verdict(True, Window(5, Unit.SECOND), 0,
                                                             0.5)
    assert verdict(_usages(3, 100), False, 1, now) == Verdict(True, Window(100, Unit.MINUTE),
                                                              0, 59.5)
    both = verdict(_usages(5, 100), False, 1, now)
    assert (both.over_limit, both.window.unit) == (True, Unit.MINUTE)


def test_a_descriptor_with_room_is_ok_when_another_refused_the_request() -> None:
    ok = verdict(_usages(1, 10), False, 1, 60.5)
    assert (ok.over_limit, ok.remaining) == (False, 4)


def test_a_request_larger_than_the_room_left_is_refused_by_that_window() -> None:
    assert verdict(_usages(3, 10), False, 3, 60.5).over_limit


def test_retry_after_is_whole_seconds_at_least_one_until_every_violated_window_resets() -> None:
    second = Verdict(True, Window(5, Unit.SECOND), 0, 0.2)
    minute = Verdict(True, Window(100, Unit.MINUTE), 0, 41.3)
    fine = Verdict(False, Window(10, Unit.MINUTE), 3, 59.0)
    assert Decision((second, None)).retry_after_s == 1
    assert Decision((second, minute, fine)).retry_after_s == 42
    assert Decision((fine, None)).retry_after_s is None
    assert not Decision((fine, None)).over_limit
    assert Decision((fine, minute)).over_limit
