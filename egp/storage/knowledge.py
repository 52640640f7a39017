"""What runs learn about problems, in the SQL Gene Pool: their names, how they relate, and how each pGC
layer performed per problem family.

Relations and layer figures are totals and counts, merged inside the statement (`total = total + excluded
.total`), like GC statistics, so runs that finish at the same time never lose each other's evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from egp.engine.gene_pool import PgcLayerFigures, ProblemRelation
from egp.storage.base import PoolBase

_RELATION_COLUMNS = (
    "problem_a, problem_b, family_distance, fitness_distance_total, fitness_distance_count, shared_total,"
    " shared_count, updated"
)


class Knowledge(PoolBase):
    """Problem names, problem relations and per-family pGC layer figures."""

    def problems(self) -> dict[bytes, str | None]:
        """Every problem with a `problems` row, by identity, with its name where known."""
        with self.engine.connect() as connection:
            rows = connection.execute(text("SELECT identity, name FROM problems ORDER BY identity")).all()
        return {bytes(identity): name for identity, name in rows}

    def problem_relations(self, problem: bytes) -> list[ProblemRelation]:
        """The recorded relations of `problem`, ordered by the other problem."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    f"SELECT {_RELATION_COLUMNS} FROM problem_relations"
                    " WHERE problem_a = :p OR problem_b = :p"
                ),
                {"p": problem},
            ).all()
        relations = [
            ProblemRelation(bytes(r[0]), bytes(r[1]), r[2], float(r[3]), int(r[4]), float(r[5]), int(r[6]))
            for r in rows
        ]
        return sorted(relations, key=lambda r: r.other(problem))

    def add_problem_relations(self, relations: Sequence[ProblemRelation]) -> None:
        """Merge relation deltas in one transaction (sorted by key, so concurrent writers cannot deadlock)."""
        if not relations:
            return
        statement = text(
            f"INSERT INTO problem_relations ({_RELATION_COLUMNS})"
            " VALUES (:a, :b, :family, :fd_total, :fd_count, :shared_total, :shared_count, :now)"
            " ON CONFLICT (problem_a, problem_b) DO UPDATE SET"
            " family_distance = COALESCE(excluded.family_distance, problem_relations.family_distance),"
            " fitness_distance_total = problem_relations.fitness_distance_total"
            " + excluded.fitness_distance_total,"
            " fitness_distance_count = problem_relations.fitness_distance_count"
            " + excluded.fitness_distance_count,"
            " shared_total = problem_relations.shared_total + excluded.shared_total,"
            " shared_count = problem_relations.shared_count + excluded.shared_count,"
            " updated = excluded.updated"
        )
        now = self.now()
        rows = [
            {
                "a": r.problem_a,
                "b": r.problem_b,
                "family": r.family_distance,
                "fd_total": r.fitness_distance_total,
                "fd_count": r.fitness_distance_count,
                "shared_total": r.shared_total,
                "shared_count": r.shared_count,
                "now": now,
            }
            for r in sorted(relations, key=lambda r: (r.problem_a, r.problem_b))
        ]
        with self.transaction() as connection:
            connection.execute(statement, rows)

    def pgc_layer_figures(self, family: str) -> list[PgcLayerFigures]:
        """The family's pGC layer figures by layer."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT family, layer, runs, pgcs, above_half, fitness_total, evolvability_total"
                    " FROM pgc_family_layers WHERE family = :f ORDER BY layer"
                ),
                {"f": family},
            ).all()
        return [
            PgcLayerFigures(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), float(r[5]), float(r[6]))
            for r in rows
        ]

    def add_pgc_layer_figures(self, figures: Sequence[PgcLayerFigures]) -> None:
        """Merge pGC layer figure deltas in one transaction."""
        if not figures:
            return
        statement = text(
            "INSERT INTO pgc_family_layers (family, layer, runs, pgcs, above_half, fitness_total,"
            " evolvability_total) VALUES (:family, :layer, :runs, :pgcs, :above, :fitness, :evolvability)"
            " ON CONFLICT (family, layer) DO UPDATE SET runs = pgc_family_layers.runs + excluded.runs,"
            " pgcs = pgc_family_layers.pgcs + excluded.pgcs,"
            " above_half = pgc_family_layers.above_half + excluded.above_half,"
            " fitness_total = pgc_family_layers.fitness_total + excluded.fitness_total,"
            " evolvability_total = pgc_family_layers.evolvability_total + excluded.evolvability_total"
        )
        rows = [
            {
                "family": f.family[:64],
                "layer": f.layer,
                "runs": f.runs,
                "pgcs": f.pgcs,
                "above": f.above_half,
                "fitness": f.fitness_total,
                "evolvability": f.evolvability_total,
            }
            for f in sorted(figures, key=lambda f: (f.family, f.layer))
        ]
        with self.transaction() as connection:
            connection.execute(statement, rows)


__all__ = ["Knowledge"]
