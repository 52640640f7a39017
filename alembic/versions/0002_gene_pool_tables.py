"""The Gene Pool tables: GCs, statistics, problems, jobs, populations, ledger, sync, quarantine, archive.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:55:14.224543
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every Gene Pool table and its indexes."""
    op.create_table(
        "archive",
        sa.Column("retired", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("gca", sa.LargeBinary(), nullable=True),
        sa.Column("gcb", sa.LargeBinary(), nullable=True),
        sa.Column("ancestora", sa.LargeBinary(), nullable=True),
        sa.Column("ancestorb", sa.LargeBinary(), nullable=True),
        sa.Column("pgc", sa.LargeBinary(), nullable=True),
        sa.Column("creator", sa.Uuid(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("properties", sa.BigInteger(), nullable=False),
        sa.Column("graph", sa.Text(), nullable=False),
        sa.Column("code_depth", sa.Integer(), nullable=False),
        sa.Column("num_codes", sa.Integer(), nullable=False),
        sa.Column("num_codons", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column(
            "input_types",
            sa.Text().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "output_types",
            sa.Text().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql"),
            nullable=False,
        ),
        sa.Column("interface_key", sa.LargeBinary(), nullable=False),
        sa.Column("codon_name", sa.Text(), nullable=True),
        sa.Column("codon_inline", sa.Text(), nullable=True),
        sa.Column("codon_description", sa.Text(), nullable=True),
        sa.Column("job", sa.String(length=64), nullable=True),
        sa.Column("island", sa.Integer(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_archive")),
    )
    with op.batch_alter_table("archive", schema=None) as batch_op:
        batch_op.create_index("ix_archive_gca", ["gca"], unique=False)
        batch_op.create_index("ix_archive_gcb", ["gcb"], unique=False)

    op.create_table(
        "epochs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("island", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("committed", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "island", "epoch", name=op.f("pk_epochs")),
    )
    op.create_table(
        "gc_problem_stats",
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("problem", sa.LargeBinary(), nullable=False),
        sa.Column("fitness_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("survivability", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("descendants", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_total_snap", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_count_snap", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_total_snap", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_count_snap", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("survivability_snap", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("descendants_snap", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "fitness",
            sa.Double(),
            sa.Computed(
                "CASE WHEN fitness_count > 0 THEN fitness_total / fitness_count ELSE 0.0 END", persisted=True
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("signature", "problem", name=op.f("pk_gc_problem_stats")),
    )
    with op.batch_alter_table("gc_problem_stats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gc_problem_stats_fitness", ["problem", "fitness", "signature"], unique=False
        )
        batch_op.create_index(
            "ix_gc_problem_stats_survivability", ["problem", "survivability", "signature"], unique=False
        )

    op.create_table(
        "genetic_codes",
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("gca", sa.LargeBinary(), nullable=True),
        sa.Column("gcb", sa.LargeBinary(), nullable=True),
        sa.Column("ancestora", sa.LargeBinary(), nullable=True),
        sa.Column("ancestorb", sa.LargeBinary(), nullable=True),
        sa.Column("pgc", sa.LargeBinary(), nullable=True),
        sa.Column("creator", sa.Uuid(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("properties", sa.BigInteger(), nullable=False),
        sa.Column("graph", sa.Text(), nullable=False),
        sa.Column("code_depth", sa.Integer(), nullable=False),
        sa.Column("num_codes", sa.Integer(), nullable=False),
        sa.Column("num_codons", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column(
            "input_types",
            sa.Text().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "output_types",
            sa.Text().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql"),
            nullable=False,
        ),
        sa.Column("interface_key", sa.LargeBinary(), nullable=False),
        sa.Column("codon_name", sa.Text(), nullable=True),
        sa.Column("codon_inline", sa.Text(), nullable=True),
        sa.Column("codon_description", sa.Text(), nullable=True),
        sa.Column("job", sa.String(length=64), nullable=True),
        sa.Column("island", sa.Integer(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_genetic_codes")),
    )
    with op.batch_alter_table("genetic_codes", schema=None) as batch_op:
        batch_op.create_index("ix_genetic_codes_gca", ["gca"], unique=False)
        batch_op.create_index("ix_genetic_codes_gcb", ["gcb"], unique=False)
        batch_op.create_index(
            "ix_genetic_codes_input_types", ["input_types"], unique=False, postgresql_using="gin"
        )
        batch_op.create_index("ix_genetic_codes_interface", ["interface_key", "signature"], unique=False)
        batch_op.create_index(
            "ix_genetic_codes_output_types", ["output_types"], unique=False, postgresql_using="gin"
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.LargeBinary(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_s", sa.Integer(), server_default=sa.text("120"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status", ["status"], unique=False)

    op.create_table(
        "pgc_stats",
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("layer", sa.Integer(), nullable=False),
        sa.Column("fitness_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_total", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_total_snap", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("fitness_count_snap", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_total_snap", sa.Double(), server_default=sa.text("0"), nullable=False),
        sa.Column("evolvability_count_snap", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "fitness",
            sa.Double(),
            sa.Computed(
                "CASE WHEN fitness_count > 0 THEN fitness_total / fitness_count ELSE 0.5 END", persisted=True
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("signature", "layer", name=op.f("pk_pgc_stats")),
    )
    with op.batch_alter_table("pgc_stats", schema=None) as batch_op:
        batch_op.create_index("ix_pgc_stats_fitness", ["layer", "fitness", "signature"], unique=False)

    op.create_table(
        "population_members",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("island", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job", "island", "signature", name=op.f("pk_population_members")),
    )
    with op.batch_alter_table("population_members", schema=None) as batch_op:
        batch_op.create_index("ix_population_members_signature", ["signature"], unique=False)

    op.create_table(
        "problems",
        sa.Column("identity", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("interface", sa.JSON(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity", name=op.f("pk_problems")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source_url", sa.String(length=512), nullable=False),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_table(
        "sources",
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("creator", sa.Uuid(), nullable=False),
        sa.Column("loaded", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", "file_hash", name=op.f("pk_sources")),
    )
    op.create_table(
        "sync_state",
        sa.Column("peer", sa.String(length=512), nullable=False),
        sa.Column("push_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("last_push", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_pull", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed_gcs", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("pulled_gcs", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("peer", name=op.f("pk_sync_state")),
    )


def downgrade() -> None:
    """Drop the Gene Pool tables."""
    op.drop_table("sync_state")
    op.drop_table("sources")
    op.drop_table("quarantine")
    op.drop_table("problems")
    with op.batch_alter_table("population_members", schema=None) as batch_op:
        batch_op.drop_index("ix_population_members_signature")

    op.drop_table("population_members")
    with op.batch_alter_table("pgc_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_pgc_stats_fitness")

    op.drop_table("pgc_stats")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status")

    op.drop_table("jobs")
    with op.batch_alter_table("genetic_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_genetic_codes_output_types", postgresql_using="gin")
        batch_op.drop_index("ix_genetic_codes_interface")
        batch_op.drop_index("ix_genetic_codes_input_types", postgresql_using="gin")
        batch_op.drop_index("ix_genetic_codes_gcb")
        batch_op.drop_index("ix_genetic_codes_gca")

    op.drop_table("genetic_codes")
    with op.batch_alter_table("gc_problem_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_gc_problem_stats_survivability")
        batch_op.drop_index("ix_gc_problem_stats_fitness")

    op.drop_table("gc_problem_stats")
    op.drop_table("epochs")
    with op.batch_alter_table("archive", schema=None) as batch_op:
        batch_op.drop_index("ix_archive_gcb")
        batch_op.drop_index("ix_archive_gca")

    op.drop_table("archive")
