"""epochs: the island's stagnation state after each recorded epoch.

An island is reseeded after `stagnation` generations without a better best. A job runs each island as a chain
of epoch tasks, each on a fresh engine, so the count has to travel with the epoch: it is written in the ledger
row, in the epoch's own transaction (a redelivered epoch reads the same state), and the next epoch starts
from it. Without it, no island of a job ever reached the default 20 stale generations within one 10-generation
epoch, and distributed runs never reseeded.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the best-fitness and stale-generations columns (NULL for epochs recorded before)."""
    with op.batch_alter_table("epochs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("best", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("stale", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop the island-state columns."""
    with op.batch_alter_table("epochs", schema=None) as batch_op:
        batch_op.drop_column("stale")
        batch_op.drop_column("best")
