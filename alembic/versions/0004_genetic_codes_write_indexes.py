"""genetic_codes: fewer, cheaper indexes on the bulk write path.

The gca/gcb btrees go: nothing hot reads GCs by sub-GC (the closure follows gca/gcb from parents to children
through the primary key; the archive's "is it a sub-GC of a stored GC" check is one set difference over the
table, see sync.archive). The two GIN indexes on the interface type arrays become one two-column GIN (either
column is still searchable with `@>`/`&&`), which costs a COPY about what no GIN at all costs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the gca, gcb and per-column type indexes; create the two-column type index."""
    with op.batch_alter_table("genetic_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_genetic_codes_gca")
        batch_op.drop_index("ix_genetic_codes_gcb")
        batch_op.drop_index("ix_genetic_codes_input_types", postgresql_using="gin")
        batch_op.drop_index("ix_genetic_codes_output_types", postgresql_using="gin")
        batch_op.create_index(
            "ix_genetic_codes_types", ["input_types", "output_types"], unique=False, postgresql_using="gin"
        )


def downgrade() -> None:
    """Restore revision 0003's indexes."""
    with op.batch_alter_table("genetic_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_genetic_codes_types", postgresql_using="gin")
        batch_op.create_index("ix_genetic_codes_gca", ["gca"], unique=False)
        batch_op.create_index("ix_genetic_codes_gcb", ["gcb"], unique=False)
        batch_op.create_index(
            "ix_genetic_codes_input_types", ["input_types"], unique=False, postgresql_using="gin"
        )
        batch_op.create_index(
            "ix_genetic_codes_output_types", ["output_types"], unique=False, postgresql_using="gin"
        )
