"""Advisory locks: one process at a time runs a named DB-manager job or an island (Postgres; SQLite: always).

A lock is held by one connection for the duration of a `with` block and released at its end, or by the
server when the connection dies, so a crashed holder never leaves a lock behind.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from egp.db import get_engine

logger = logging.getLogger(__name__)


class HasEngine(Protocol):
    """Anything holding a SQLAlchemy engine (a SQLGenePool, a JobStore)."""

    @property
    def engine(self) -> Engine:
        """The database's engine."""
        ...


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for `name` (a DB-manager job, or e.g. "island:JOB:3")."""
    return zlib.crc32(b"egp:" + name.encode())


@contextmanager
def try_advisory_lock(database: Engine | HasEngine, key: int) -> Iterator[bool]:
    """Try to take the advisory lock `key` for the block: yields True if held, False if another holds it.

    Never waits. On SQLite (one writer at a time anyway) it always yields True.
    """
    engine = database if isinstance(database, Engine) else database.engine
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
                except DBAPIError:  # the connection died: the server released the lock with it
                    logger.warning("advisory lock %d: connection lost; the lock went with it", key)


@contextmanager
def advisory_lock(url: str, name: str) -> Iterator[bool]:
    """Try to take the named DB-manager lock on the database at `url` (see try_advisory_lock)."""
    with try_advisory_lock(get_engine(url), lock_key(name)) as got:
        yield got


__all__ = ["HasEngine", "advisory_lock", "lock_key", "try_advisory_lock"]
