"""PostgreSQL adapters of the auth service; migrations live beside them."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "auth"
