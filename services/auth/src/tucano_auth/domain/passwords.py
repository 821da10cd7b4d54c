"""Password policy (OWASP ASVS 2.1): 12 to 128 characters, any characters, not a common or
easily guessed password. The common list is zxcvbn's 30,000 most frequent leaked passwords;
zxcvbn's estimator also rejects passwords built from the user's own email or name."""

from __future__ import annotations

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 2  # zxcvbn: 0 too guessable ... 4 very unguessable
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, user_inputs: list[str]) -> str | None:
    """Why `password` is not acceptable, or None. `user_inputs`: email, name, tenant name."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.lower() in _COMMON:
        return "is one of the most common passwords"
    if zxcvbn(password, user_inputs=[u for u in user_inputs if u])["score"] < MIN_SCORE:
        return "is too easy to guess"
    return None
