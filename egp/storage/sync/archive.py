"""Archive: move cold GCs from `genetic_codes` to `archive` (retired, not deleted: lineage stays readable)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from egp.config import Settings
from egp.genetic_code.gc import GeneticCode
from egp.storage.locks import advisory_lock
from egp.storage.rows import GC_COLUMNS, bind_time, gc_from_row
from egp.storage.sql_pool import SQLGenePool

# Cold GCs: not codons, old, in no population, below the thresholds, and not a sub-GC of a stored GC.
_COLD = (
    "SELECT g.signature FROM genetic_codes g"
    " WHERE g.codon_inline IS NULL AND g.created < :cutoff"
    " AND NOT EXISTS (SELECT 1 FROM population_members m WHERE m.signature = g.signature)"
    " AND NOT EXISTS (SELECT 1 FROM gc_problem_stats s"
    "   WHERE s.signature = g.signature AND s.fitness >= :fitness)"
    " AND NOT EXISTS (SELECT 1 FROM pgc_stats ps"
    "   WHERE ps.signature = g.signature AND ps.fitness_count > 0)"
)
# genetic_codes has no gca/gcb index (the bulk write path is cheaper without one), so "not a sub-GC" is one
# pass over the table, never a lookup per GC. Postgres plans these NOT EXISTS as hash anti-joins; SQLite has
# no hash join (a correlated NOT EXISTS would scan the table once per GC) and takes the set difference with
# temporary b-trees instead.
_COLD_GCS_POSTGRES = (
    _COLD + " AND NOT EXISTS (SELECT 1 FROM genetic_codes p WHERE p.gca = g.signature)"
    " AND NOT EXISTS (SELECT 1 FROM genetic_codes p WHERE p.gcb = g.signature)"
    " ORDER BY g.signature LIMIT :batch"
)
_COLD_GCS_SQLITE = (
    f"SELECT signature FROM ({_COLD}"
    " EXCEPT SELECT gca FROM genetic_codes WHERE gca IS NOT NULL"
    " EXCEPT SELECT gcb FROM genetic_codes WHERE gcb IS NOT NULL"
    ") AS cold ORDER BY signature LIMIT :batch"
)


def archive(url: str, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Move cold GCs (in no population, no stored GC's sub-GC, below the thresholds, old) to `archive`."""
    pool = SQLGenePool(url)
    with advisory_lock(url, "archive") as got:
        if not got:
            return {"skipped": "another archive run holds the lock", "archived": 0}
        moment = now or datetime.now(UTC)
        cutoff = moment - timedelta(seconds=settings.archive_min_age_s)
        with pool.transaction() as connection:
            candidates = [
                bytes(r[0])
                for r in connection.execute(
                    text(_COLD_GCS_POSTGRES if pool.postgres else _COLD_GCS_SQLITE),
                    {
                        "cutoff": bind_time(cutoff, pool.postgres),
                        "fitness": settings.archive_max_fitness,
                        "batch": settings.archive_batch,
                    },
                )
            ]
            names = ", ".join(GC_COLUMNS)
            for chunk in pool.chunks(candidates):
                condition, params = pool.in_condition("signature", chunk)
                connection.execute(
                    text(
                        f"INSERT INTO archive ({names}, retired) SELECT {names}, :retired FROM genetic_codes"
                        f" WHERE {condition} ON CONFLICT (signature) DO NOTHING"
                    ),
                    params | {"retired": bind_time(moment, pool.postgres)},
                )
                connection.execute(text(f"DELETE FROM genetic_codes WHERE {condition}"), params)
    pool.close()
    return {"archived": len(candidates)}


def lookup_with_archive(url: str, signatures: Sequence[bytes]) -> dict[bytes, tuple[GeneticCode, bool]]:
    """GCs by signature from the live table or the archive (True when archived): lineage stays readable."""
    pool = SQLGenePool(url)
    found = {s: (gc, False) for s, gc in pool.get_many(signatures).items()}
    missing = [s for s in signatures if s not in found]
    if missing:
        with pool.engine.connect() as connection:
            for chunk in pool.chunks(missing):
                condition, params = pool.in_condition("signature", chunk)
                for row in connection.execute(
                    text(f"SELECT {', '.join(GC_COLUMNS)} FROM archive WHERE {condition}"), params
                ).mappings():
                    gc = gc_from_row(row)
                    found[gc.signature] = (gc, True)
    return found


__all__ = ["archive", "lookup_with_archive"]
