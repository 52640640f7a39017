"""genetic_codes: drop the GIN index on the interface type sets.

No query reads it: interface matching is exact and goes through the (interface_key, signature) btree. It cost
every stored GC a GIN insertion (with periodic pending-list flushes, the most variable part of an epoch's
COPY), and an evolving job stores about ten GCs per offspring. The type-set columns stay, so a looser
interface query can bring back an index shaped for it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the two-column type-set index."""
    with op.batch_alter_table("genetic_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_genetic_codes_types", postgresql_using="gin")


def downgrade() -> None:
    """Restore revision 0004's two-column type-set index."""
    with op.batch_alter_table("genetic_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_genetic_codes_types", ["input_types", "output_types"], unique=False, postgresql_using="gin"
        )
