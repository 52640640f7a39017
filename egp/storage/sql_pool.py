"""The SQL Gene Pool: the engine's GenePool on Postgres (psycopg 3) or SQLite, and how a pool is opened.

`SQLGenePool` is composed of one part per concept, each in its own module: the shared engine and GC cache
(base), bulk writes (bulk), GC reads and writes (gc_store), statistics (statistics), selection reads
(selection), the epoch ledger (ledger) and what runs learn about problems (knowledge). Rows are encoded and
rebuilt by `egp.storage.rows`, and the schema is checked by `egp.storage.schema` once per URL when a pool is
opened.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url

from egp.config import get_settings, normalise_database_url
from egp.db import reported_errors, sqlite_file
from egp.engine.gene_pool import GenePool, MemoryGenePool
from egp.storage.knowledge import Knowledge
from egp.storage.ledger import Ledger
from egp.storage.locks import lock_key
from egp.storage.rows import (
    GC_COLUMNS,
    gc_from_row,
    gc_json_from_row,
    gc_row,
    interface_key,
    is_runtime_literal,
    runtime_literal_codon,
    sqlite_timestamp,
)
from egp.storage.schema import SchemaNotAtHeadError, StorageError, check_schema, data_tables
from egp.storage.selection import Selection

MEMORY_URL = "memory://"


class SQLGenePool(Ledger, Selection, Knowledge):
    """The Gene Pool in a Postgres or SQLite database (schema at head), implementing the GenePool protocol."""

    def __init__(
        self, url: str, *, selection_window: int = 1024, cache_size: int = 20_000, check: bool = True
    ) -> None:
        """A Gene Pool on `url`; `selection_window` bounds selection reads; `cache_size` GCs are cached.

        The schema must be at head (SchemaNotAtHeadError otherwise; checked once per URL per process);
        `check=False` skips that, for migration code that opens a database on its way to head.
        """
        super().__init__(url, selection_window=selection_window, cache_size=cache_size)
        if check:
            check_schema(self.url)

    def counts(self) -> dict[str, int]:
        """Row counts of every data table (see egp.storage.schema.data_tables)."""
        with self.engine.connect() as connection:
            return {
                t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in data_tables()
            }

    def close(self) -> None:
        """Release this pool's cached GCs (the engine is shared per URL and disposed by egp.db)."""
        self.forget_cached()


def open_gene_pool(url: str, *, selection_window: int | None = None) -> GenePool:
    """The Gene Pool at `url`: memory:// → MemoryGenePool, else SQLGenePool (an embedded SQLite file is
    created or upgraded on first use; any other database must already be at head)."""
    if url.startswith(MEMORY_URL):
        return MemoryGenePool()
    try:
        url = normalise_database_url(url)
    except ValueError as error:
        raise StorageError(str(error)) from None
    from egp.migrations import current, upgrade

    with reported_errors(url):
        if make_url(url).get_backend_name() == "sqlite":
            path = sqlite_file(url)
            if path is None or not path.exists() or not current(url).at_head:
                upgrade(url)
    window = selection_window if selection_window is not None else get_settings().selection_window
    with reported_errors(url):
        return SQLGenePool(url, selection_window=window)


__all__ = [
    "GC_COLUMNS",
    "MEMORY_URL",
    "SQLGenePool",
    "SchemaNotAtHeadError",
    "StorageError",
    "check_schema",
    "gc_from_row",
    "gc_json_from_row",
    "gc_row",
    "interface_key",
    "is_runtime_literal",
    "lock_key",
    "open_gene_pool",
    "runtime_literal_codon",
    "sqlite_timestamp",
]
