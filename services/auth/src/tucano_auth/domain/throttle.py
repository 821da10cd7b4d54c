"""Login throttling policy (ASVS 2.2.1: at most 100 failed attempts per hour per account),
shaped so that an attacker cannot lock a victim out:

- per account and client IP: from the 5th failure on, that IP must wait 1, 2, 4, 8, then at
  most 15 minutes after each further failure;
- per account: after 100 failures in an hour, only IPs from which the account signed in
  successfully in the last 30 days may still try; others wait for the hour to pass;
- per client IP, across accounts (credential stuffing): 100 failures an hour, then it waits.

A correct password is still refused while its IP must wait: the check comes first.
"""

from __future__ import annotations

from dataclasses import dataclass

FREE_FAILURES = 5
MAX_DELAY_S = 900
ACCOUNT_FAILURES_PER_HOUR = 100
IP_FAILURES_PER_HOUR = 100
PAIR_MEMORY_S = 900
HOUR_S = 3600
KNOWN_IP_MEMORY_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Counts:
    pair_failures: int
    seconds_since_pair_failure: float | None
    account_failures_this_hour: int
    ip_failures_this_hour: int
    ip_known_for_account: bool
    seconds_left_in_hour: float


def pair_delay_s(failures: int) -> float:
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(60 * 2 ** (failures - FREE_FAILURES), MAX_DELAY_S))


def retry_after_s(counts: Counts) -> float:
    """0 if an attempt may go ahead now, else how long to wait."""
    wait = 0.0
    if counts.seconds_since_pair_failure is not None:
        wait = max(wait, pair_delay_s(counts.pair_failures) - counts.seconds_since_pair_failure)
    if (counts.account_failures_this_hour >= ACCOUNT_FAILURES_PER_HOUR
            and not counts.ip_known_for_account):
        wait = max(wait, counts.seconds_left_in_hour)
    if counts.ip_failures_this_hour >= IP_FAILURES_PER_HOUR:
        wait = max(wait, counts.seconds_left_in_hour)
    return max(wait, 0.0)
