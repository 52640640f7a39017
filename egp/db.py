"""Database plumbing: one lazily created SQLAlchemy engine per URL, fork-safe; UTC timestamps read back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from egp.config import display_url, normalise_database_url
from egp.errors import EGPError, one_line

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set the per-connection SQLite pragmas: WAL for concurrent readers, enforced foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def get_engine(url: str) -> Engine:
    """Return the engine for `url`, creating it on first use in this process."""
    url = normalise_database_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if make_url(url).get_backend_name() == "sqlite":
                engine = create_engine(url)
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                # A bounded connect timeout: a status check must not hang on a silent host.
                engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Forget every engine without closing the parent's connections; call in a process after fork."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


def close_engines() -> None:
    """Close every engine's pooled connections (each reopens on next use)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """Return the file a SQLite URL names, or None for Postgres and in-memory SQLite."""
    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextmanager
def reported_errors(url: str) -> Iterator[None]:
    """Turn a driver error on `url` (refused connection, bad password) into a one-line EGPError."""
    try:
        yield
    except DBAPIError as error:
        raise EGPError(f"database {display_url(url)}: {one_line(error.orig or error)}") from error


def ping(url: str) -> None:
    """Run `SELECT 1` on `url`; raises the driver's error when the database cannot be reached."""
    with get_engine(url).connect() as connection:
        connection.execute(text("SELECT 1"))


def as_utc(value: datetime | str) -> datetime:
    """A timestamp read back from the database as an aware UTC datetime (SQLite keeps naive UTC text)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
