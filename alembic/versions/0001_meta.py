"""The meta table: one row naming the database (uuid), its role, when and by whom it was created.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("pool", "library", "archive")
ANONYMOUS_CREATOR = "1f8f45ca-0ce8-11f0-a067-73ab69491a6f"


def _argument(name: str, default: str) -> str:
    """Return a value passed by `egp.migrations.upgrade` (config attribute) or `alembic -x name=value`."""
    value = context.config.attributes.get(name) or context.get_x_argument(as_dictionary=True).get(name)
    return str(value) if value else default


def upgrade() -> None:
    """Create `meta` and insert the database's single identity row."""
    meta = op.create_table(
        "meta",
        # A constant key with a check keeps the table to one row.
        sa.Column("id", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("database_uuid", sa.Uuid(), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator", sa.Uuid(), nullable=False),
        sa.CheckConstraint("id = 1", name="meta_single_row"),
        sa.CheckConstraint(f"role IN {ROLES!r}", name="meta_role"),
    )
    role = _argument("role", "pool")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    op.bulk_insert(
        meta,
        [
            {
                "id": 1,
                "database_uuid": uuid.uuid4(),
                "role": role,
                "created": datetime.now(UTC),
                "creator": uuid.UUID(_argument("creator", ANONYMOUS_CREATOR)),
            }
        ],
    )


def downgrade() -> None:
    """Drop `meta`."""
    op.drop_table("meta")
