"""migrations: loading NNNN_name.sql files and checksums (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tucano_kit.postgres.migrations import (
    Migration,
    MigrationError,
    kit_migrations,
    load_folder,
    service_migrations,
)


def test_files_load_in_name_order_ignoring_other_files(tmp_path: Path) -> None:
    (tmp_path / "0002_b.sql").write_text("SELECT 2;")
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("not a migration")

    assert load_folder(tmp_path, prefix="x:") == [
        Migration("x:0001_a.sql", "SELECT 1;"), Migration("x:0002_b.sql", "SELECT 2;")]


@pytest.mark.parametrize("name", ["1_a.sql", "0001a.sql", "abcd_x.sql", "0001.sql"])
def test_badly_named_files_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")

    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        load_folder(tmp_path)


def test_the_kit_migrations_come_first(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")

    names = [m.name for m in service_migrations(tmp_path)]

    assert names[0] == "kit:0001_outbox_inbox.sql"
    assert names[-1] == "0001_a.sql"
    assert [m.name for m in kit_migrations()] == names[:-1]


def test_the_checksum_changes_with_the_sql() -> None:
    assert Migration("0001_a.sql", "SELECT 1;").checksum != Migration(
        "0001_a.sql", "SELECT 1; ").checksum
    assert len(Migration("0001_a.sql", "").checksum) == 64
