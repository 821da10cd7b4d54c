"""What a tenant's own settings may hold."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import available_timezones

import phonenumbers

from tucano_tenants.domain.tenants import MAX_CORS_ORIGINS, tenant_name_problem

_ZONES = frozenset(available_timezones())


def settings_problems(name: str | None, default_country: str | None, timezone: str | None,
                      cors_origins: list[str] | None) -> dict[str, str]:
    """Field -> why its value is not acceptable (only for the fields given)."""
    problems: dict[str, str] = {}
    if name is not None and (problem := tenant_name_problem(name)):
        problems["name"] = problem
    if default_country and default_country not in phonenumbers.SUPPORTED_REGIONS:
        problems["default_country"] = "must be an ISO 3166-1 alpha-2 code such as BR, or empty"
    if timezone is not None and timezone not in _ZONES:
        problems["timezone"] = "must be an IANA time zone such as America/Sao_Paulo"
    if cors_origins is not None:
        if len(cors_origins) > MAX_CORS_ORIGINS:
            problems["cors_origins"] = f"at most {MAX_CORS_ORIGINS} origins"
        for origin in cors_origins:
            if not is_origin(origin):
                problems["cors_origins"] = (f"{origin!r} is not an origin (https://host[:port],"
                                            " no path; http only for localhost)")
                break
    return problems


def is_origin(value: str) -> bool:
    parts = urlsplit(value)
    if parts.path or parts.query or parts.fragment or not parts.hostname or len(value) > 253:
        return False
    local = parts.hostname in ("localhost", "127.0.0.1")
    return parts.scheme == "https" or (parts.scheme == "http" and local)
