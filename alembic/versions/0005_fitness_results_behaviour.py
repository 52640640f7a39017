"""fitness_results: the behaviour digest and per-case scores of each executor score.

The engine keeps one survivor per behaviour first (a digest of the outputs on every case) and, for problems
with niche survivability, shares each case's reward among the GCs scoring on it. A remote score that carried
only the fitness gave every GC the same (empty) behaviour and no per-case scores, so in remote fitness mode an
island filled with neutral variants of one program and stalled on a local optimum.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the behaviour and cases columns (NULL for rows written before)."""
    with op.batch_alter_table("fitness_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("behaviour", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("cases", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop the behaviour and cases columns."""
    with op.batch_alter_table("fitness_results", schema=None) as batch_op:
        batch_op.drop_column("cases")
        batch_op.drop_column("behaviour")
