"""Problem and pGC statistics of the SQL Gene Pool: additive delta writes and reads.

Statistics are deltas added inside the statement (`total = total + excluded.total`), never read and written
back from Python, so concurrent writers merge instead of overwriting (architecture principle 6). Real-valued
values cross this boundary as exact fixed-point units (`exact_stats`): floats in the engine, exact sums here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from sqlalchemy import Connection, text

from egp.engine.gene_pool import PgcStats, ProblemStats
from egp.storage.bulk import BulkWrites
from egp.storage.exact_stats import bind_units, stored_float, to_units

# The mergeable statistics of a GC on a problem, and of a pGC on a layer.
STATS_VALUES = (
    "fitness_total",
    "fitness_count",
    "evolvability_total",
    "evolvability_count",
    "survivability",
    "descendants",
)
PGC_VALUES = ("fitness_total", "fitness_count", "evolvability_total", "evolvability_count")
STATS_DELTA_COLUMNS: tuple[str, ...] = ("signature", "problem", *STATS_VALUES)
PGC_DELTA_COLUMNS: tuple[str, ...] = ("signature", "layer", *PGC_VALUES)

# Additive upserts: a delta is added in the statement; survivability is a latest value (ProblemStats.add).
STATS_CONFLICT = (
    "ON CONFLICT (signature, problem) DO UPDATE SET "
    "fitness_total = gc_problem_stats.fitness_total + excluded.fitness_total, "
    "fitness_count = gc_problem_stats.fitness_count + excluded.fitness_count, "
    "evolvability_total = gc_problem_stats.evolvability_total + excluded.evolvability_total, "
    "evolvability_count = gc_problem_stats.evolvability_count + excluded.evolvability_count, "
    "descendants = gc_problem_stats.descendants + excluded.descendants, "
    "survivability = CASE WHEN excluded.fitness_count <> 0 OR excluded.survivability <> 0 "
    "THEN excluded.survivability ELSE gc_problem_stats.survivability END"
)
PGC_CONFLICT = (
    "ON CONFLICT (signature, layer) DO UPDATE SET "
    "fitness_total = pgc_stats.fitness_total + excluded.fitness_total, "
    "fitness_count = pgc_stats.fitness_count + excluded.fitness_count, "
    "evolvability_total = pgc_stats.evolvability_total + excluded.evolvability_total, "
    "evolvability_count = pgc_stats.evolvability_count + excluded.evolvability_count"
)


class Statistics(BulkWrites):
    """Statistics per (GC, problem) and per (pGC, layer)."""

    def exact(self, value: float) -> Decimal | float:
        """A float statistic delta as this backend's exact stored value (non-finite counts as 0)."""
        return bind_units(to_units(value), self.postgres)

    def problem_stats(self, problem: bytes, signatures: Iterable[bytes]) -> dict[bytes, ProblemStats]:
        """Statistics on `problem` of those `signatures` that have any."""
        wanted = sorted(set(signatures))
        found: dict[bytes, ProblemStats] = {}
        with self.engine.connect() as connection:
            for chunk in self.chunks(wanted):
                condition, params = self.in_condition("signature", chunk)
                rows = connection.execute(
                    text(
                        "SELECT signature, fitness_total, fitness_count, evolvability_total,"
                        " evolvability_count, survivability, descendants FROM gc_problem_stats"
                        f" WHERE problem = :problem AND {condition}"
                    ),
                    params | {"problem": problem},
                )
                for r in rows:
                    found[bytes(r[0])] = ProblemStats(
                        stored_float(r[1]), r[2], stored_float(r[3]), r[4], stored_float(r[5]), r[6]
                    )
        return found

    def pgc_stats(self, layer: int, signatures: Iterable[bytes]) -> dict[bytes, PgcStats]:
        """Statistics at `layer` of those pGC `signatures` that have any."""
        wanted = sorted(set(signatures))
        found: dict[bytes, PgcStats] = {}
        with self.engine.connect() as connection:
            for chunk in self.chunks(wanted):
                condition, params = self.in_condition("signature", chunk)
                rows = connection.execute(
                    text(
                        "SELECT signature, fitness_total, fitness_count, evolvability_total,"
                        f" evolvability_count FROM pgc_stats WHERE layer = :layer AND {condition}"
                    ),
                    params | {"layer": layer},
                )
                for r in rows:
                    found[bytes(r[0])] = PgcStats(stored_float(r[1]), r[2], stored_float(r[3]), r[4])
        return found

    def add_stats(
        self,
        connection: Connection,
        problem: bytes,
        deltas: Mapping[bytes, ProblemStats],
    ) -> None:
        """Add statistic deltas on `problem` inside `connection`'s transaction (see ensure_problem)."""
        exact = self.exact
        rows = [
            (
                signature,
                problem,
                exact(d.fitness_total),
                d.fitness_count,
                exact(d.evolvability_total),
                d.evolvability_count,
                exact(d.survivability),
                d.descendants,
            )
            for signature, d in sorted(deltas.items())
        ]

        self.write_rows(
            connection,
            "gc_problem_stats",
            STATS_DELTA_COLUMNS,
            rows,
            "signature",
            STATS_CONFLICT,
            add_to_stored=True,
            problem=problem,
        )

    def add_pgc_stats(self, connection: Connection, deltas: Mapping[tuple[bytes, int], PgcStats]) -> None:
        """Add pGC statistic deltas, keyed by (signature, layer), inside `connection`'s transaction."""
        exact = self.exact
        rows = [
            (
                signature,
                layer,
                exact(d.fitness_total),
                d.fitness_count,
                exact(d.evolvability_total),
                d.evolvability_count,
            )
            for (signature, layer), d in sorted(deltas.items())
        ]
        self.bulk_upsert(connection, "pgc_stats", PGC_DELTA_COLUMNS, rows, "signature, layer", PGC_CONFLICT)

    def add_problem_stats(self, problem: bytes, deltas: Mapping[bytes, ProblemStats]) -> None:
        """Add statistic deltas on `problem` in one transaction (outside an epoch record)."""
        with self.transaction() as connection:
            self.ensure_problem(connection, problem)
            self.add_stats(connection, problem, deltas)

    def ensure_problem(self, connection: Connection, problem: bytes, name: str | None = None) -> None:
        """Insert the `problems` row of `problem` unless it exists; a row without a name takes `name`."""
        connection.execute(
            text(
                "INSERT INTO problems (identity, name, created) VALUES (:p, :n, :t)"
                " ON CONFLICT (identity) DO UPDATE SET name = excluded.name"
                " WHERE problems.name IS NULL AND excluded.name IS NOT NULL"
            ),
            {"p": problem, "n": name[:255] if name else None, "t": self.now()},
        )


__all__ = ["PGC_CONFLICT", "PGC_DELTA_COLUMNS", "STATS_CONFLICT", "STATS_DELTA_COLUMNS", "Statistics"]
