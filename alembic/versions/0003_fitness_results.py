"""Remote fitness results: one executor score per (problem, signature), counted by the epoch barrier.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the fitness_results table."""
    op.create_table(
        "fitness_results",
        sa.Column("problem", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("fitness", sa.Double(), nullable=False),
        sa.Column("solved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("job", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("evaluated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("problem", "signature", name=op.f("pk_fitness_results")),
    )


def downgrade() -> None:
    """Drop the fitness_results table."""
    op.drop_table("fitness_results")
