"""PostgreSQL adapters of the webhooks gateway; migrations live beside them."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "webhooks"
