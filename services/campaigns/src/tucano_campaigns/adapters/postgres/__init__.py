"""PostgreSQL adapters of the campaigns service; migrations live beside them."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "campaigns"
