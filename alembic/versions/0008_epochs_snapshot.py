"""epochs: the island's snapshot after each recorded epoch of a job.

Epoch e + 1 of an island starts from exactly the state epoch e left (members with their survivability,
stagnation and budget counts, the island's pGC pools) and from its neighbour's epoch-e emigrants, whichever
process runs it and whenever, so a job gives the same result for the same seed. The snapshot is JSON text
written in the epoch's own transaction.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the snapshot column (NULL for epochs recorded before)."""
    with op.batch_alter_table("epochs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the snapshot column."""
    with op.batch_alter_table("epochs", schema=None) as batch_op:
        batch_op.drop_column("state")
