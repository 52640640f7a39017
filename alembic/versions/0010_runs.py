"""runs and run_history: every embedded run recorded like a job, so both can be shown the same way.

A `runs` row is one `egp evolve` / `evolve()` run on this Gene Pool: its problem, settings, status and
result; `run_history` holds its figures after each island generation (best, mean, evaluations, evaluations
per second, stillborn rate, distinct members, cache hit rates, pGC layer figures). Jobs keep theirs in the
jobs row's progress.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the runs and run_history tables."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.String(length=255), nullable=False),
        sa.Column("problem_identity", sa.LargeBinary(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("best_fitness", sa.Double(), nullable=True),
        sa.Column("best_signature", sa.LargeBinary(), nullable=True),
        sa.Column("solved", sa.Boolean(), nullable=True),
        sa.Column("evaluations", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("generations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("seconds", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_index("ix_runs_created", "runs", ["created"])
    op.create_table(
        "run_history",
        sa.Column("run", sa.String(length=64), nullable=False),
        sa.Column("island", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("best", sa.Double(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("evaluations", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("evals_per_s", sa.Double(), nullable=False),
        sa.Column("stillborn_rate", sa.Double(), nullable=False),
        sa.Column("distinct_members", sa.Integer(), nullable=False),
        sa.Column("score_hit_rate", sa.Double(), nullable=False),
        sa.Column("output_cache_hit_rate", sa.Double(), nullable=False),
        sa.Column("pgc_layers", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("run", "island", "generation", name=op.f("pk_run_history")),
    )


def downgrade() -> None:
    """Drop the run_history and runs tables."""
    op.drop_table("run_history")
    op.drop_index("ix_runs_created", table_name="runs")
    op.drop_table("runs")
