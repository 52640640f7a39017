"""The schema of every EGP database (Gene Pool, library, archive) as SQLAlchemy 2 typed models.

One schema serves every role and both backends. Interface types are Postgres INT[] under one two-column GIN
index; SQLite keeps the same sorted unique type uids as comma-separated text. Exact interface matching uses
`interface_key` (the ordered input and output uids as bytes), indexed together with the signature so a
seeded random window of matching GCs is one index range scan. Statistics are totals and counts, each with
an `_snap` column holding what was last exchanged with the upstream library (architecture principle 6).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from egp.storage.exact_stats import NUMERIC_PRECISION, SCALE

# Stable constraint and index names, so Alembic revisions and the models agree on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

# Postgres: INT[]; SQLite: the same uids as text "1,5,7".
TYPE_LIST: TypeEngine[Any] = Text().with_variant(ARRAY(Integer()), "postgresql")

# Statistics and counters start at zero, so raw SQL upserts may name only the columns they add to.
ZERO = text("0")

# Mean of a total and a count, 0 before any count: the indexed column behind `best`.
FITNESS_MEAN = (
    "CASE WHEN fitness_count > 0 THEN CAST(fitness_total AS DOUBLE PRECISION) / fitness_count ELSE 0.0 END"
)
# A pGC is neutral (0.5) before its first use, as PgcStats.fitness says.
PGC_FITNESS_MEAN = (
    "CASE WHEN fitness_count > 0 THEN CAST(fitness_total AS DOUBLE PRECISION) / fitness_count ELSE 0.5 END"
)
# Real-valued statistics (totals, survivability, snapshots): exact fixed point on Postgres, REAL on SQLite
# (revision 0009, egp/storage/exact_stats.py).
EXACT = Numeric(NUMERIC_PRECISION, SCALE).with_variant(Double(), "sqlite")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the EGP schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Meta(Base):
    """The database's single identity row (created by revision 0001)."""

    __tablename__ = "meta"
    __table_args__ = (
        CheckConstraint("id = 1", name="meta_single_row"),
        CheckConstraint("role IN ('pool', 'library', 'archive')", name="meta_role"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    database_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    creator: Mapped[uuid.UUID] = mapped_column(Uuid)


class _GCColumns:
    """The columns of a stored GC, shared by `genetic_codes` and `archive`."""

    signature: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    gca: Mapped[bytes | None] = mapped_column(LargeBinary)
    gcb: Mapped[bytes | None] = mapped_column(LargeBinary)
    ancestora: Mapped[bytes | None] = mapped_column(LargeBinary)
    ancestorb: Mapped[bytes | None] = mapped_column(LargeBinary)
    pgc: Mapped[bytes | None] = mapped_column(LargeBinary)
    creator: Mapped[uuid.UUID] = mapped_column(Uuid)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    properties: Mapped[int] = mapped_column(BigInteger)
    graph: Mapped[str] = mapped_column(Text)  # the canonical graph JSON text
    code_depth: Mapped[int] = mapped_column(Integer)
    num_codes: Mapped[int] = mapped_column(Integer)
    num_codons: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(BigInteger)
    input_types: Mapped[Any] = mapped_column(TYPE_LIST)  # sorted unique type uids
    output_types: Mapped[Any] = mapped_column(TYPE_LIST)
    interface_key: Mapped[bytes] = mapped_column(
        LargeBinary
    )  # ordered inputs and outputs, see interface_key()
    codon_name: Mapped[str | None] = mapped_column(Text)
    codon_inline: Mapped[str | None] = mapped_column(Text)
    codon_description: Mapped[str | None] = mapped_column(Text)
    job: Mapped[str | None] = mapped_column(String(64))
    island: Mapped[int | None] = mapped_column(Integer)
    epoch: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(255))


class GeneticCodeRow(_GCColumns, Base):
    """A stored GC: immutable once written, addressed by its signature."""

    __tablename__ = "genetic_codes"
    __table_args__ = (
        # The only secondary index: exact interface matching. No gca/gcb index (nothing hot looks GCs up by
        # sub-GC, revision 0004) and no type-set GIN (no query used it, revision 0006): each costs every
        # stored GC an index insertion, and a job stores about ten GCs per offspring.
        Index("ix_genetic_codes_interface", "interface_key", "signature"),
    )


class ArchiveRow(_GCColumns, Base):
    """A retired GC: same columns as `genetic_codes`, plus when it was retired; never deleted."""

    __tablename__ = "archive"
    __table_args__ = (Index("ix_archive_gca", "gca"), Index("ix_archive_gcb", "gcb"))

    retired: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProblemStatsRow(Base):
    """A GC's statistics on one problem: totals and counts, each with its upstream snapshot."""

    __tablename__ = "gc_problem_stats"
    __table_args__ = (
        Index("ix_gc_problem_stats_survivability", "problem", "survivability", "signature"),
        Index("ix_gc_problem_stats_fitness", "problem", "fitness", "signature"),
    )

    signature: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    problem: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    fitness_total: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    fitness_count: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    evolvability_total: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    evolvability_count: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    survivability: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    descendants: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    fitness_total_snap: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    fitness_count_snap: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    evolvability_total_snap: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    evolvability_count_snap: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    survivability_snap: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    descendants_snap: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    fitness: Mapped[float] = mapped_column(Double, Computed(FITNESS_MEAN, persisted=True))


class PgcStatsRow(Base):
    """A pGC's statistics at one layer: fitness and evolvability totals and counts, with snapshots."""

    __tablename__ = "pgc_stats"
    __table_args__ = (Index("ix_pgc_stats_fitness", "layer", "fitness", "signature"),)

    signature: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    layer: Mapped[int] = mapped_column(Integer, primary_key=True)
    fitness_total: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    fitness_count: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    evolvability_total: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    evolvability_count: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    fitness_total_snap: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    fitness_count_snap: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    evolvability_total_snap: Mapped[Decimal] = mapped_column(EXACT, server_default=ZERO)
    evolvability_count_snap: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    fitness: Mapped[float] = mapped_column(Double, Computed(PGC_FITNESS_MEAN, persisted=True))


class ProblemRow(Base):
    """A problem GCs are scored on, by its 32-byte identity."""

    __tablename__ = "problems"

    identity: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    interface: Mapped[Any | None] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProblemRelationRow(Base):
    """Evidence that two problems are related (problem_a < problem_b), as mergeable totals and counts."""

    __tablename__ = "problem_relations"

    problem_a: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    problem_b: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    family_distance: Mapped[float | None] = mapped_column(Double)
    fitness_distance_total: Mapped[float] = mapped_column(Double, server_default=ZERO)
    fitness_distance_count: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    shared_total: Mapped[float] = mapped_column(Double, server_default=ZERO)
    shared_count: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PgcLayerFiguresRow(Base):
    """How each pGC layer performed on the runs of one problem family, as mergeable totals."""

    __tablename__ = "pgc_family_layers"

    family: Mapped[str] = mapped_column(String(64), primary_key=True)
    layer: Mapped[int] = mapped_column(Integer, primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    pgcs: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    above_half: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    fitness_total: Mapped[float] = mapped_column(Double, server_default=ZERO)
    evolvability_total: Mapped[float] = mapped_column(Double, server_default=ZERO)


class JobRow(Base):
    """An evolution job: its spec, status, progress and the lease the watchdog checks."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    problem: Mapped[bytes | None] = mapped_column(LargeBinary)
    spec: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[Any | None] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_s: Mapped[int] = mapped_column(Integer, server_default=text("120"))


class PopulationMemberRow(Base):
    """A GC in the current population of one island of one job ('' for runs without a job)."""

    __tablename__ = "population_members"
    __table_args__ = (Index("ix_population_members_signature", "signature"),)

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class EpochRow(Base):
    """The epoch ledger: a row exists once (job, island, epoch) has been recorded."""

    __tablename__ = "epochs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    committed: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The island after this epoch: its best fitness and generations without a better one (revision 0007).
    best: Mapped[float | None] = mapped_column(Double)
    stale: Mapped[int | None] = mapped_column(Integer)
    # The island's snapshot after this epoch of a job, as JSON text (revision 0008).
    state: Mapped[str | None] = mapped_column(Text)


class SourceRow(Base):
    """Provenance of a seed file loaded into the database (the shipped codon files)."""

    __tablename__ = "sources"

    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    file_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    creator: Mapped[uuid.UUID] = mapped_column(Uuid)
    loaded: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SyncStateRow(Base):
    """Synchronisation state with one peer: an upstream URL, or a downstream database pushing to us."""

    __tablename__ = "sync_state"

    peer: Mapped[str] = mapped_column(String(512), primary_key=True)
    push_seq: Mapped[int] = mapped_column(
        BigInteger, server_default=ZERO
    )  # next batch number we send upstream
    applied_seq: Mapped[int] = mapped_column(
        BigInteger, server_default=ZERO
    )  # last batch applied from a downstream
    pending: Mapped[str | None] = mapped_column(Text)  # a prepared push batch not yet acknowledged
    last_push: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_pull: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pushed_gcs: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    pulled_gcs: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)


class QuarantineRow(Base):
    """A GC rejected on import, with why and where it came from."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(String(512))
    received: Mapped[datetime] = mapped_column(DateTime(timezone=True))


GENETIC_CODES = GeneticCodeRow.__table__
ARCHIVE = ArchiveRow.__table__
PROBLEM_STATS = ProblemStatsRow.__table__
PGC_STATS = PgcStatsRow.__table__


class FitnessResultRow(Base):
    """A fitness executor's score of a GC on a problem (remote fitness); the epoch's barrier counts these."""

    __tablename__ = "fitness_results"

    problem: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    fitness: Mapped[float] = mapped_column(Double)
    solved: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    job: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(255))
    evaluated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What the engine's survivor selection needs besides the fitness (revision 0005): the digest of the GC's
    # outputs (one survivor per behaviour first) and each case's share of the fitness (niche survivability),
    # float64 little-endian; NULL when the evaluation failed or the problem has no per-case scores.
    behaviour: Mapped[bytes | None] = mapped_column(LargeBinary)
    cases: Mapped[bytes | None] = mapped_column(LargeBinary)


FITNESS_RESULTS = FitnessResultRow.__table__


class RunRow(Base):
    """An embedded run (`egp evolve`, `evolve()`): problem, settings, status and result (revision 0010)."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_created", "created"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    problem: Mapped[str] = mapped_column(String(255))
    problem_identity: Mapped[bytes | None] = mapped_column(LargeBinary)
    config: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    best_fitness: Mapped[float | None] = mapped_column(Double)
    best_signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    solved: Mapped[bool | None] = mapped_column(Boolean)
    evaluations: Mapped[int] = mapped_column(BigInteger, server_default=ZERO)
    generations: Mapped[int] = mapped_column(Integer, server_default=ZERO)
    seconds: Mapped[float] = mapped_column(Double, server_default=ZERO)
    summary: Mapped[Any | None] = mapped_column(JSON)


class RunHistoryRow(Base):
    """One island generation of an embedded run: its figures after that generation (revision 0010)."""

    __tablename__ = "run_history"

    run: Mapped[str] = mapped_column(String(64), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    best: Mapped[float] = mapped_column(Double)
    mean: Mapped[float] = mapped_column(Double)
    evaluations: Mapped[int] = mapped_column(BigInteger)
    seconds: Mapped[float] = mapped_column(Double)
    evals_per_s: Mapped[float] = mapped_column(Double)
    stillborn_rate: Mapped[float] = mapped_column(Double)
    distinct_members: Mapped[int] = mapped_column(Integer)
    score_hit_rate: Mapped[float] = mapped_column(Double)
    output_cache_hit_rate: Mapped[float] = mapped_column(Double)
    pgc_layers: Mapped[Any | None] = mapped_column(JSON)


RUNS = RunRow.__table__
RUN_HISTORY = RunHistoryRow.__table__
