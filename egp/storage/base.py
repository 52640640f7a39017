"""What every part of the SQL Gene Pool shares: its engine and backend, transactions, chunked key lists and
the cache of rebuilt GCs.

GCs are immutable, so a rebuilt object is cached by signature (cachetools' LRU cache of `cache_size` GCs,
behind a lock: cachetools is not thread-safe and a pool may be shared by threads); the cache only ever
holds GCs that are stored (they are remembered after their transaction commits).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import cachetools
from sqlalchemy import Connection, Engine

from egp.config import normalise_database_url
from egp.db import get_engine
from egp.genetic_code.gc import GeneticCode
from egp.storage.rows import bind_time

SQLITE_CHUNK = 500  # bound parameters per IN (...) on SQLite
POSTGRES_CHUNK = 50_000  # keys per `= ANY(...)` array on Postgres


class PoolBase:
    """The engine, backend and GC cache of a SQL Gene Pool, and the SQL helpers its parts share."""

    def __init__(self, url: str, *, selection_window: int = 1024, cache_size: int = 20_000) -> None:
        """A Gene Pool on `url`; `selection_window` bounds selection reads; `cache_size` GCs are cached."""
        self.url = normalise_database_url(url)
        self.engine: Engine = get_engine(self.url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.selection_window = selection_window
        self._cache: cachetools.LRUCache[bytes, GeneticCode] = cachetools.LRUCache(cache_size)
        # Provenance written with every GC this pool stores (the worker's name), if set.
        self.worker: str | None = None
        self._cache_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in one transaction: committed on success, rolled back on an exception."""
        with self.engine.begin() as connection:
            yield connection

    def now(self) -> datetime | str:
        """The current UTC time as this backend's bound parameter."""
        return bind_time(datetime.now(UTC), self.postgres)

    def in_condition(self, column: str, values: Sequence[Any], name: str = "v") -> tuple[str, dict[str, Any]]:
        """A `column IN (...)` condition and its parameters for one chunk of values (see `chunks`)."""
        if self.postgres:
            return f"{column} = ANY(:{name})", {name: list(values)}
        names = {f"{name}{k}": v for k, v in enumerate(values)}
        return f"{column} IN ({', '.join(':' + n for n in names)})", names

    def chunks(self, values: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """`values` in chunks small enough for one `in_condition` on this backend."""
        size = POSTGRES_CHUNK if self.postgres else SQLITE_CHUNK
        for start in range(0, len(values), size):
            yield values[start : start + size]

    def cached(self, signature: bytes) -> GeneticCode | None:
        """The cached GC with `signature`, if any (no database read)."""
        with self._cache_lock:
            return self._cache.get(signature)

    def remember(self, gcs: Iterable[GeneticCode]) -> None:
        """Cache stored GCs (call after the transaction that stored them has committed)."""
        with self._cache_lock:
            for gc in gcs:
                self._cache[gc.signature] = gc

    def forget_cached(self) -> None:
        """Empty the GC cache."""
        with self._cache_lock:
            self._cache.clear()


__all__ = ["POSTGRES_CHUNK", "SQLITE_CHUNK", "PoolBase"]
