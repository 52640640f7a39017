"""problem_relations and pgc_family_layers: what runs learn about how problems relate.

`problem_relations` holds, per pair of problems, the declared family distance and the measured fitness
distance and shared sub-GC similarity as totals and counts, merged like other statistics; it is updated as
runs finish and read by the RELATED and UNRELATED sources of an initial population and by the block library.
`pgc_family_layers` records per problem family how each pGC layer performed, so the effect of meta-evolution
can be read off after a curriculum.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create both tables."""
    op.create_table(
        "problem_relations",
        sa.Column("problem_a", sa.LargeBinary(), primary_key=True),
        sa.Column("problem_b", sa.LargeBinary(), primary_key=True),
        sa.Column("family_distance", sa.Double(), nullable=True),
        sa.Column("fitness_distance_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_distance_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("shared_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("shared_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pgc_family_layers",
        sa.Column("family", sa.String(64), primary_key=True),
        sa.Column("layer", sa.Integer(), primary_key=True),
        sa.Column("runs", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pgcs", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("above_half", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_total", sa.Double(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("pgc_family_layers")
    op.drop_table("problem_relations")
