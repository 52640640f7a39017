"""GC reads and writes of the SQL Gene Pool: store batches, fetch by signature (cached), and closures.

A GC's closure is the GC with all its sub-GCs, read by one recursive query and returned sub-GCs first, the
order in which they can be stored or rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.storage.bulk import BulkWrites
from egp.storage.rows import GC_COLUMNS, gc_from_row, gc_row


def _depth_key(row: Mapping[Any, Any]) -> tuple[int, bytes]:
    """Sort key shallowest first; a row from elsewhere with a missing or absurd depth sorts last (admission
    rejects it)."""
    depth = row["code_depth"]
    return (
        depth if isinstance(depth, int) and not isinstance(depth, bool) else 2**62,
        bytes(row["signature"]),
    )


class GCStore(BulkWrites):
    """Stored GCs: bulk inserts (existing signatures left alone) and exact, cached reads."""

    def put(
        self,
        connection: Connection,
        gcs: Iterable[GeneticCode],
        job: str | None = None,
        island: int | None = None,
        epoch: int | None = None,
    ) -> int:
        """Store GCs inside `connection`'s transaction with their provenance; returns how many were new.

        The caller remembers them (`remember`) after the commit, if it wants them cached.
        """
        unique = {gc.signature: gc for gc in gcs}
        if not unique:
            return 0
        signatures = sorted(unique)
        worker = self.worker[:255] if self.worker else None
        rows = [gc_row(unique[s], self.postgres, job, island, epoch, worker) for s in signatures]
        added = self.write_rows(
            connection,
            "genetic_codes",
            GC_COLUMNS,
            rows,
            "signature",
            "ON CONFLICT (signature) DO NOTHING",
            add_to_stored=False,
        )
        return added

    def put_many(self, gcs: Iterable[GeneticCode]) -> int:
        """Store GCs (sub-GCs first); existing signatures are left alone. Returns how many were new."""
        batch = list(gcs)
        with self.transaction() as connection:
            added = self.put(connection, batch)
        self.remember(batch)  # after the commit: the cache holds only stored GCs
        return added

    def load(self, connection: Connection, signatures: Sequence[bytes]) -> dict[bytes, GeneticCode]:
        """Rebuild the stored GCs among `signatures` from their rows."""
        found: dict[bytes, GeneticCode] = {}
        for chunk in self.chunks(signatures):
            condition, params = self.in_condition("signature", chunk)
            rows = connection.execute(
                text(f"SELECT {', '.join(GC_COLUMNS)} FROM genetic_codes WHERE {condition}"), params
            )
            for row in rows.mappings():
                gc = gc_from_row(row)
                found[gc.signature] = gc
        self.remember(found.values())
        return found

    def get_many(self, signatures: Iterable[bytes]) -> dict[bytes, GeneticCode]:
        """The stored GCs among `signatures` (codons included), keyed by signature."""
        registry = codon_registry()
        found: dict[bytes, GeneticCode] = {}
        missing: list[bytes] = []
        with self._cache_lock:
            for signature in dict.fromkeys(signatures):
                gc = self._cache.get(signature) or registry.get(signature)
                if gc is None:
                    missing.append(signature)
                else:
                    found[signature] = gc
        if missing:
            with self.engine.connect() as connection:
                found.update(self.load(connection, missing))
        return found

    def closure(self, signatures: Iterable[bytes], connection: Connection | None = None) -> list[GeneticCode]:
        """The GCs `signatures` with all their sub-GCs, recursively, sub-GCs first (one recursive query).

        Rows of GCs already in the cache are not rebuilt: rebuilding validates the graph and recomputes the
        signature, and the closures of a population's GCs share most of their sub-GCs (an executor loads
        batch after batch of them).
        """
        rows = self.closure_rows(signatures, connection)
        with self._cache_lock:
            cached = [self._cache.get(bytes(row["signature"])) for row in rows]
        gcs = [gc if gc is not None else gc_from_row(row) for gc, row in zip(cached, rows, strict=True)]
        self.remember(gcs)
        return gcs

    def closure_rows(
        self,
        signatures: Iterable[bytes],
        connection: Connection | None = None,
        columns: Sequence[str] = GC_COLUMNS,
    ) -> list[Mapping[Any, Any]]:
        """The rows of `signatures` and of all their sub-GCs, sub-GCs first, in one recursive CTE query."""
        roots = sorted(set(signatures))
        if not roots:
            return []
        result: dict[bytes, Mapping[Any, Any]] = {}
        for chunk in self.chunks(roots):
            condition, params = self.in_condition("signature", chunk)
            statement = text(
                "WITH RECURSIVE closure(signature) AS ("
                f" SELECT signature FROM genetic_codes WHERE {condition}"
                " UNION"
                " SELECT CASE WHEN side.n = 0 THEN g.gca ELSE g.gcb END"
                " FROM closure JOIN genetic_codes g ON g.signature = closure.signature"
                " CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) side"
                " WHERE (CASE WHEN side.n = 0 THEN g.gca ELSE g.gcb END) IS NOT NULL"
                f") SELECT {', '.join(dict.fromkeys(['signature', 'code_depth', *columns]))}"
                " FROM genetic_codes"
                " WHERE signature IN (SELECT signature FROM closure)"
            )
            if connection is None:
                with self.engine.connect() as own:
                    rows = own.execute(statement, params).mappings().all()
            else:
                rows = connection.execute(statement, params).mappings().all()
            for row in rows:
                result[bytes(row["signature"])] = row
        # A sub-GC is always shallower than the GCs that use it.
        return sorted(result.values(), key=_depth_key)

    def rows_by_signature(
        self, signatures: Sequence[bytes], connection: Connection
    ) -> list[Mapping[Any, Any]]:
        """The `genetic_codes` rows of `signatures`, shallowest first (so sub-GCs come first)."""
        rows: list[Mapping[Any, Any]] = []
        for chunk in self.chunks(sorted(set(signatures))):
            condition, params = self.in_condition("signature", chunk)
            rows.extend(
                connection.execute(
                    text(f"SELECT {', '.join(GC_COLUMNS)} FROM genetic_codes WHERE {condition}"), params
                ).mappings()
            )
        return sorted(rows, key=_depth_key)


__all__ = ["GCStore"]
