"""Simulator settings: read once from ``SIM_*`` environment variables, validated in one place.

Every setting is a field of :class:`Settings`. ``FIELDS`` maps each field to its environment
variable and parser, so the same validation serves the environment (at start-up) and the
``PATCH /_sim/config`` admin endpoint (at run time).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_MPS = 1000  # Meta's highest per-number throughput tier.


class SettingsError(ValueError):
    """A setting has an invalid value. The message names the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8090
    log_level: str = "INFO"
    access_log: bool = False
    seed: int | None = None

    # Webhooks: one callback URL per Meta app, shared with the gateway. Empty = webhooks off.
    webhook_url: str = ""
    app_secret: str = "tucano-sim-app-secret"
    verify_token: str = "tucano-sim-verify-token"
    webhook_timeout_s: float = 5.0
    webhook_concurrency: int = 16
    webhook_queue_max: int = 200_000
    batch_max: int = 50
    webhook_linger_s: float = 0.02
    retry_base_s: float = 1.0
    retry_max_s: float = 60.0
    max_attempts: int = 10
    status_contacts: bool = True
    include_conversation: bool = True

    # Status timing, each relative to the previous status of the same message.
    sent_delay_s: float = 0.05
    delivered_delay_s: float = 0.1
    read_delay_s: float = 0.3
    read_rate: float = 1.0
    skip_delivered_rate: float = 0.0
    duplicate_rate: float = 0.0
    out_of_order_rate: float = 0.0

    # Limits.
    default_mps: int = 80
    throughput_burst_s: float = 0.5
    pair_window_s: float = 6.0
    pair_burst: int = 45
    enforce_service_window: bool = True

    # Injected trouble.
    error_rate: float = 0.0
    unavailable_rate: float = 0.0
    slow_rate: float = 0.0
    slow_s: float = 2.0
    held_rate: float = 0.0
    unreachable_prefix: str = ""

    # Templates created through the Graph API stay PENDING this long, then become APPROVED.
    template_review_s: float = 1.0


Parser = Callable[[str], Any]


def _int(lo: int, hi: int) -> Parser:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer, got {raw!r}") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}, got {value}")
        return value

    return parse


def _float(lo: float, hi: float) -> Parser:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be a number, got {raw!r}") from None
        if not lo <= value <= hi:  # also rejects NaN
            raise ValueError(f"must be between {lo:g} and {hi:g}, got {raw}")
        return value

    return parse


def _rate(raw: str) -> float:
    return float(_float(0.0, 1.0)(raw))


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def _seed(raw: str) -> int | None:
    return None if raw.strip() == "" else _int(0, 2**63 - 1)(raw)


def _url(raw: str) -> str:
    raw = raw.strip()
    if raw == "":
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"must be an http(s) URL or empty, got {raw!r}")
    return raw


def _nonempty(raw: str) -> str:
    if raw == "":
        raise ValueError("must not be empty")
    return raw


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError(f"must be DEBUG, INFO, WARNING or ERROR, got {raw!r}")
    return level


def _digits(raw: str) -> str:
    if raw and not raw.isdigit():
        raise ValueError(f"must be digits or empty, got {raw!r}")
    return raw


FIELDS: dict[str, tuple[str, Parser]] = {
    "host": ("SIM_HOST", _nonempty),
    "port": ("SIM_PORT", _int(0, 65535)),
    "log_level": ("SIM_LOG_LEVEL", _log_level),
    "access_log": ("SIM_ACCESS_LOG", _bool),
    "seed": ("SIM_SEED", _seed),
    "webhook_url": ("SIM_WEBHOOK_URL", _url),
    "app_secret": ("SIM_APP_SECRET", _nonempty),
    "verify_token": ("SIM_VERIFY_TOKEN", _nonempty),
    "webhook_timeout_s": ("SIM_WEBHOOK_TIMEOUT_S", _float(0.01, 300)),
    "webhook_concurrency": ("SIM_WEBHOOK_CONCURRENCY", _int(1, 1024)),
    "webhook_queue_max": ("SIM_WEBHOOK_QUEUE_MAX", _int(1, 10_000_000)),
    "batch_max": ("SIM_WEBHOOK_BATCH_MAX", _int(1, 1000)),
    "webhook_linger_s": ("SIM_WEBHOOK_LINGER_S", _float(0, 1)),
    "retry_base_s": ("SIM_WEBHOOK_RETRY_BASE_S", _float(0.001, 3600)),
    "retry_max_s": ("SIM_WEBHOOK_RETRY_MAX_S", _float(0.001, 7 * 86400)),
    "max_attempts": ("SIM_WEBHOOK_MAX_ATTEMPTS", _int(1, 1000)),
    "status_contacts": ("SIM_STATUS_CONTACTS", _bool),
    "include_conversation": ("SIM_INCLUDE_CONVERSATION", _bool),
    "sent_delay_s": ("SIM_SENT_DELAY_S", _float(0, 3600)),
    "delivered_delay_s": ("SIM_DELIVERED_DELAY_S", _float(0, 3600)),
    "read_delay_s": ("SIM_READ_DELAY_S", _float(0, 3600)),
    "read_rate": ("SIM_READ_RATE", _rate),
    "skip_delivered_rate": ("SIM_SKIP_DELIVERED_RATE", _rate),
    "duplicate_rate": ("SIM_DUPLICATE_RATE", _rate),
    "out_of_order_rate": ("SIM_OUT_OF_ORDER_RATE", _rate),
    "default_mps": ("SIM_DEFAULT_MPS", _int(1, MAX_MPS)),
    "throughput_burst_s": ("SIM_THROUGHPUT_BURST_S", _float(0.001, 60)),
    "pair_window_s": ("SIM_PAIR_WINDOW_S", _float(0.001, 86400)),
    "pair_burst": ("SIM_PAIR_BURST", _int(1, 100_000)),
    "enforce_service_window": ("SIM_ENFORCE_SERVICE_WINDOW", _bool),
    "error_rate": ("SIM_ERROR_RATE", _rate),
    "unavailable_rate": ("SIM_UNAVAILABLE_RATE", _rate),
    "slow_rate": ("SIM_SLOW_RATE", _rate),
    "slow_s": ("SIM_SLOW_S", _float(0, 600)),
    "held_rate": ("SIM_HELD_RATE", _rate),
    "unreachable_prefix": ("SIM_UNREACHABLE_PREFIX", _digits),
    "template_review_s": ("SIM_TEMPLATE_REVIEW_S", _float(-1, 86400)),
}

# Settings that only matter at start-up; PATCH /_sim/config refuses them.
STARTUP_ONLY = frozenset(
    {"host", "port", "log_level", "access_log", "webhook_concurrency", "webhook_queue_max"}
)


def _check(settings: Settings) -> Settings:
    if settings.retry_max_s < settings.retry_base_s:
        name = FIELDS["retry_max_s"][0]
        raise SettingsError(f"{name}: must be >= SIM_WEBHOOK_RETRY_BASE_S")
    return settings


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from ``SIM_*`` variables; raises SettingsError naming the bad variable."""
    values: dict[str, Any] = {}
    for attr, (env, parse) in FIELDS.items():
        raw = environ.get(env)
        if raw is None:
            continue
        try:
            values[attr] = parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{env}: {exc}") from None
    return _check(Settings(**values))


def apply_overrides(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """Apply run-time overrides given by field name (JSON values); same validation as the env."""
    values: dict[str, Any] = {}
    for attr, value in overrides.items():
        if attr not in FIELDS:
            raise SettingsError(f"{attr}: unknown setting")
        if attr in STARTUP_ONLY:
            raise SettingsError(f"{attr}: can only be set at start-up ({FIELDS[attr][0]})")
        parse = FIELDS[attr][1]
        raw = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        try:
            values[attr] = parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{attr}: {exc}") from None
    return _check(dataclasses.replace(settings, **values))


def public_view(settings: Settings) -> dict[str, Any]:
    """Settings as JSON for GET /_sim/config. The app secret is shared with the gateway on
    purpose (it is a simulator setting), so it is shown; there is nothing real to protect."""
    return dataclasses.asdict(settings)
