"""Domain rules of auth: emails, passwords, sessions, throttling."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tucano_auth.domain.passwords import password_problem
from tucano_auth.domain.sessions import ABSOLUTE_LIFETIME, IDLE_TIMEOUT, Session, session_problem
from tucano_auth.domain.throttle import Counts, pair_delay_s, retry_after_s
from tucano_auth.domain.users import normalize_email

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "email"), [(" Ada@Example.COM ", "ada@example.com"),
                                             ("a.b+tag@sub.example.co", "a.b+tag@sub.example.co")])
def test_emails_are_trimmed_and_lower_cased(raw: str, email: str) -> None:
    assert normalize_email(raw) == email


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@example",
                                 "a b@example.com", "ada@-example.com", "x" * 65 + "@ex.com"])
def test_non_addresses_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="email"):
        normalize_email(raw)


@pytest.mark.parametrize(("password", "problem"), [
    ("short", "at least 12"),
    ("x" * 129, "at most 128"),
    ("qwertyuiop123", "common"),
    ("aaaaaaaaaaaaaaaa", "guess"),
    ("ada.lovelace@example.com", "guess"),
])
def test_weak_passwords_are_refused_with_a_reason(password: str, problem: str) -> None:
    found = password_problem(password, user_inputs=["ada.lovelace@example.com"])
    assert found is not None and problem in found


@pytest.mark.parametrize("password", ["correct horse battery staple", "Tr0ub4dor&3-extended!",
                                      "日本語のパスフレーズはとても長いです"])
def test_long_unguessable_passwords_of_any_script_pass(password: str) -> None:
    assert password_problem(password, user_inputs=[]) is None


def session(age: timedelta, idle: timedelta, revoked: bool = False) -> Session:
    return Session(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), NOW - age, NOW - idle,
                   NOW if revoked else None)


def test_sessions_end_by_revocation_absolute_lifetime_or_idleness() -> None:
    assert session_problem(session(timedelta(days=1), timedelta(hours=1)), NOW) is None
    assert session_problem(session(timedelta(days=1), timedelta(0), revoked=True),
                           NOW) == "SESSION_REVOKED"
    assert session_problem(session(ABSOLUTE_LIFETIME, timedelta(0)), NOW) == "SESSION_EXPIRED"
    assert session_problem(session(timedelta(days=8), IDLE_TIMEOUT), NOW) == "SESSION_IDLE"


def counts(**kw: object) -> Counts:
    base: dict[str, object] = dict(pair_failures=0, seconds_since_pair_failure=None,
                                   account_failures_this_hour=0, ip_failures_this_hour=0,
                                   ip_known_for_account=False, seconds_left_in_hour=1800.0)
    return Counts(**{**base, **kw})  # type: ignore[arg-type]


def test_the_first_failures_are_free_then_delays_double_up_to_fifteen_minutes() -> None:
    assert [pair_delay_s(n) for n in (4, 5, 6, 7, 8, 9, 30)] == [0, 60, 120, 240, 480, 900, 900]
    assert retry_after_s(counts(pair_failures=4, seconds_since_pair_failure=1.0)) == 0
    assert retry_after_s(counts(pair_failures=5, seconds_since_pair_failure=10.0)) == 50
    assert retry_after_s(counts(pair_failures=5, seconds_since_pair_failure=61.0)) == 0


def test_an_account_under_attack_still_admits_its_known_ips() -> None:
    attacked = dict(account_failures_this_hour=100, seconds_left_in_hour=1200.0)
    assert retry_after_s(counts(**attacked)) == 1200
    assert retry_after_s(counts(**attacked, ip_known_for_account=True)) == 0


def test_an_ip_stuffing_credentials_waits_for_the_hour() -> None:
    assert retry_after_s(counts(ip_failures_this_hour=100, seconds_left_in_hour=300.0)) == 300
