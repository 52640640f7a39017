"""The schema a Gene Pool must have: its errors, its data tables, and the at-head check made once per URL."""

from __future__ import annotations

import threading

from egp.config import display_url, normalise_database_url
from egp.errors import EGPError
from egp.storage.models import Base


class StorageError(EGPError):
    """A Gene Pool database is unusable: wrong schema revision, corrupted row, unreachable."""


class SchemaNotAtHeadError(StorageError):
    """The database's schema is not at the newest revision."""


def data_tables() -> tuple[str, ...]:
    """The names of every table holding data rows (all of the models' tables but `meta`), sorted."""
    return tuple(sorted(name for name in Base.metadata.tables if name != "meta"))


def not_at_head(url: str, revision: str | None, head: str) -> SchemaNotAtHeadError:
    """The error naming `egp db upgrade` for a database at `revision` instead of `head`."""
    return SchemaNotAtHeadError(
        f"{display_url(url)} is at schema revision {revision or 'none'}, not {head};"
        f" run `egp db upgrade --url {display_url(url)}`"
    )


# URLs found at head by this process: the schema does not move back under a running process.
_at_head: set[str] = set()
_at_head_lock = threading.Lock()


def check_schema(url: str) -> None:
    """Raise SchemaNotAtHeadError unless the database at `url` is at head (checked once per URL)."""
    from egp.migrations import current

    key = normalise_database_url(url)
    with _at_head_lock:
        if key in _at_head:
            return
    info = current(url)
    if not info.at_head:
        raise not_at_head(url, info.revision, info.head)
    with _at_head_lock:
        _at_head.add(key)


def forget_schema_checks() -> None:
    """Check every database again on its next open (after a downgrade in this process, in tests)."""
    with _at_head_lock:
        _at_head.clear()


__all__ = [
    "SchemaNotAtHeadError",
    "StorageError",
    "check_schema",
    "data_tables",
    "forget_schema_checks",
    "not_at_head",
]
