"""gc_problem_stats, pgc_stats: exact statistic totals (NUMERIC(40, 12) on Postgres).

Float totals summed in whatever order deltas arrive differ in their last bits between runs that counted the
same things (an epoch redelivered after a kill, pushes from many Gene Pools in any order). Fitness and
evolvability totals, survivability and their upstream snapshots become fixed-point NUMERIC(40, 12) values, in
which addition is exact and associative (egp/storage/exact_stats.py says why that scale). Existing values are
rounded once to 12 decimals; a non-finite one (never written by EGP) becomes 0. The generated mean columns are
rebuilt over the new types (Postgres cannot change the type of a column a generated column reads) and keep
their indexes. SQLite keeps REAL columns: it has no exact decimal type (see exact_stats.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 07:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXACT = {
    "gc_problem_stats": (
        "fitness_total",
        "evolvability_total",
        "survivability",
        "fitness_total_snap",
        "evolvability_total_snap",
        "survivability_snap",
    ),
    "pgc_stats": ("fitness_total", "evolvability_total", "fitness_total_snap", "evolvability_total_snap"),
}
# (table, index, index columns, mean for an unused row): the generated mean column and its index.
_MEANS = (
    ("gc_problem_stats", "ix_gc_problem_stats_fitness", "problem, fitness, signature", "0.0"),
    ("pgc_stats", "ix_pgc_stats_fitness", "layer, fitness, signature", "0.5"),
)


def _rebuild(column_type: str, using: str, mean: str) -> None:
    """Drop each generated mean, retype the exact columns, and add the mean and its index back."""
    for table, index, columns, unused in _MEANS:
        op.execute(f"DROP INDEX IF EXISTS {index}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN fitness")
        retype = ", ".join(
            f"ALTER COLUMN {c} TYPE {column_type} USING {using.format(c=c)}" for c in _EXACT[table]
        )
        op.execute(f"ALTER TABLE {table} {retype}")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN fitness DOUBLE PRECISION GENERATED ALWAYS AS"
            f" (CASE WHEN fitness_count > 0 THEN {mean} ELSE {unused} END) STORED"
        )
        op.execute(f"CREATE INDEX {index} ON {table} ({columns})")


def upgrade() -> None:
    """Retype the real-valued statistics as NUMERIC(40, 12) on Postgres (SQLite: nothing to do)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(
        "NUMERIC(40, 12)",
        "CASE WHEN {c} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN 0"
        " ELSE round({c}::numeric, 12) END",
        "CAST(fitness_total AS DOUBLE PRECISION) / fitness_count",
    )


def downgrade() -> None:
    """Back to DOUBLE PRECISION statistics."""
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild("DOUBLE PRECISION", "{c}::float8", "fitness_total / fitness_count")
