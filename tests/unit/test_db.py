"""Engines and sessions on a SQLite file (no server needed): caching, pragmas, commit and rollback."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from egp.db import as_utc, dispose_engines, get_engine, sqlite_file
from egp.migrations import script_location


def test_one_engine_per_url_until_disposed(tmp_path: Path) -> None:
    """The same URL gives the same engine; after dispose_engines (post-fork) a new one is made."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = get_engine(url)
    assert get_engine(url) is engine
    dispose_engines()
    assert get_engine(url) is not engine


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    """Every SQLite connection has WAL journaling and enforced foreign keys."""
    with get_engine(f"sqlite:///{tmp_path / 'b.db'}").connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_sqlite_file_names_the_file() -> None:
    """sqlite_file gives the path of a file URL and None for memory or Postgres."""
    assert sqlite_file("sqlite:///rel/pool.db") == Path("rel/pool.db")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql://h/db") is None


def test_migration_scripts_are_found_and_do_not_shadow_alembic() -> None:
    """The scripts have env.py and versions/, and no __init__.py that would shadow the alembic library."""
    location = script_location()
    assert (location / "env.py").is_file() and (location / "versions" / "0001_meta.py").is_file()
    assert not (location / "__init__.py").exists()


def test_as_utc_reads_naive_text_and_aware_values_as_utc() -> None:
    """SQLite's naive UTC text becomes an aware UTC datetime; an aware value keeps its zone."""
    from datetime import UTC, datetime, timedelta, timezone

    assert as_utc("2024-05-01 12:00:00.000001") == datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=UTC)
    paris = datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(paris) is paris
    assert as_utc(datetime(2024, 5, 1, 12)).tzinfo is UTC
