"""The jobs table: a job's spec, status and progress, read and written by the client and the workers.

The jobs row is the only thing a client polls. Workers merge an island's progress into it under a row lock
(`SELECT … FOR UPDATE` on Postgres), keyed by (island, epoch), so a re-run epoch leaves it unchanged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Connection, Table, select, text, update

from egp.db import as_utc, get_engine
from egp.jobs.spec import JobError, JobSpec
from egp.storage.models import JobRow

JOBS = cast(Table, JobRow.__table__)


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True once the job will not change any more."""
        return self in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class JobInfo:
    """A jobs row as the client and the workers see it."""

    id: str
    spec: JobSpec
    status: JobStatus
    progress: dict[str, Any] = field(default_factory=dict)
    created: datetime | None = None
    updated: datetime | None = None
    lease_s: int = 120

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the history)."""
        progress = {k: v for k, v in self.progress.items() if k not in ("history", "attempts")}
        return {
            "id": self.id,
            "status": str(self.status),
            "problem": self.spec.problem,
            "spec": self.spec.model_dump(mode="json"),
            "progress": progress,
            "created": self.created.isoformat() if self.created else None,
            "updated": self.updated.isoformat() if self.updated else None,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    """A fresh job id."""
    return uuid.uuid4().hex


class JobStore:
    """The jobs rows of one Gene Pool database."""

    def __init__(self, url: str) -> None:
        """Jobs in the database at `url` (its schema must be at head)."""
        self.url = url
        self.engine = get_engine(url)
        self.postgres = self.engine.dialect.name == "postgresql"

    def create(self, spec: JobSpec, problem: bytes, job_id: str | None = None) -> str:
        """Insert a queued job and return its id."""
        job_id = job_id or new_job_id()
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(
                JOBS.insert().values(
                    id=job_id,
                    problem=problem,
                    spec=spec.model_dump(mode="json"),
                    status=str(JobStatus.QUEUED),
                    progress={},
                    seed=spec.seed,
                    created=now,
                    updated=now,
                    lease_s=spec.lease_s,
                )
            )
        return job_id

    def delete(self, job_id: str) -> None:
        """Remove a job row (used when queueing its start task failed)."""
        with self.engine.begin() as connection:
            connection.execute(JOBS.delete().where(JOBS.c.id == job_id))

    def _info(self, row: Any) -> JobInfo:
        return JobInfo(
            id=row.id,
            spec=JobSpec.model_validate(row.spec),
            status=JobStatus(row.status),
            progress=dict(row.progress or {}),
            created=as_utc(row.created),
            updated=as_utc(row.updated),
            lease_s=int(row.lease_s),
        )

    def get(self, job_id: str) -> JobInfo:
        """The job `job_id`; JobError if there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(select(JOBS).where(JOBS.c.id == job_id)).first()
        if row is None:
            raise JobError(f"no job {job_id!r} in this Gene Pool")
        return self._info(row)

    def status(self, job_id: str) -> JobStatus:
        """The job's status alone (one small read: epochs check it between generations for a cancel)."""
        with self.engine.connect() as connection:
            value = connection.execute(select(JOBS.c.status).where(JOBS.c.id == job_id)).scalar()
        if value is None:
            raise JobError(f"no job {job_id!r} in this Gene Pool")
        return JobStatus(value)

    def find(self, prefix: str) -> JobInfo:
        """The job whose id is or starts with `prefix` (unique); JobError otherwise."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(JOBS).where(JOBS.c.id.startswith(prefix, autoescape=True))).all()
        exact = [r for r in rows if r.id == prefix]
        if exact:
            return self._info(exact[0])
        if not rows:
            raise JobError(f"no job {prefix!r} in this Gene Pool")
        if len(rows) > 1:
            raise JobError(f"job id prefix {prefix!r} is ambiguous ({len(rows)} jobs)")
        return self._info(rows[0])

    def list(self, limit: int = 100) -> list[JobInfo]:
        """The newest jobs first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(JOBS).order_by(JOBS.c.created.desc()).limit(limit)).all()
        return [self._info(r) for r in rows]

    def set_status(self, job_id: str, status: JobStatus, *, only_from: tuple[JobStatus, ...] = ()) -> bool:
        """Set the status (only from one of `only_from` when given); True if the row changed."""
        statement = update(JOBS).where(JOBS.c.id == job_id)
        if only_from:
            statement = statement.where(JOBS.c.status.in_([str(s) for s in only_from]))
        with self.engine.begin() as connection:
            result = connection.execute(statement.values(status=str(status), updated=_now()))
        return bool(result.rowcount)

    def touch(self, job_id: str) -> None:
        """Record activity on the job (the watchdog's lease counts from the latest activity)."""
        with self.engine.begin() as connection:
            connection.execute(update(JOBS).where(JOBS.c.id == job_id).values(updated=_now()))

    def locked(self, connection: Connection, job_id: str) -> JobInfo:
        """Read the job inside `connection`'s transaction, holding its row lock until commit."""
        statement = select(JOBS).where(JOBS.c.id == job_id)
        if self.postgres:
            statement = statement.with_for_update()
        row = connection.execute(statement).first()
        if row is None:
            raise JobError(f"no job {job_id!r} in this Gene Pool")
        return self._info(row)

    def write(self, connection: Connection, job_id: str, status: JobStatus, progress: dict[str, Any]) -> None:
        """Write status and progress inside `connection`'s transaction."""
        connection.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(status=str(status), progress=progress, updated=_now())
        )

    def recorded_epochs(self, job_id: str) -> dict[int, int]:
        """The newest recorded epoch of each island of the job (-1: only the initial population)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT island, max(epoch) FROM epochs WHERE job = :job GROUP BY island"),
                {"job": job_id},
            ).all()
        return {int(island): int(epoch) for island, epoch in rows}


__all__ = ["JobInfo", "JobStatus", "JobStore", "new_job_id"]
