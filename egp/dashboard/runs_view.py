"""Runs and jobs as the dashboard shows them: one list of both, and one run's or job's detail with its
history per island, in one shape whichever kind it is.

An embedded run's history is its `run_history` rows (every island generation, with evaluations per second,
stillborn rate, cache hit rates and pGC layer figures); a job's is the jobs row's progress history (one entry
per island epoch: generation, evaluations, best and mean, its time, from which evaluations per second follow,
and the epoch's stillborn rate and pGC layer figures).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from egp.dashboard.ids import NotFoundError, check_run_id
from egp.db import as_utc
from egp.jobs.spec import JobSpec
from egp.jobs.store import JOBS
from egp.storage.runs import get_run, list_runs, run_history

# Statuses whose figures still change: the pages poll these.
LIVE_STATUSES = ("queued", "running")


def _age_s(created: str | None) -> float | None:
    """Seconds since `created` (ISO text)."""
    if created is None:
        return None
    return (datetime.now(UTC) - datetime.fromisoformat(created)).total_seconds()


# The progress fields the runs list shows (a job's progress also holds its history: up to 2,000 entries).
LISTED_PROGRESS = ("reason", "best", "best_signature", "solved", "evaluations", "generation")


def _job_dict(row: Any, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """A jobs row as the dashboard lists it (without its history); `progress`: its LISTED_PROGRESS fields
    when the row was read without its whole progress."""
    progress = dict((row.progress if progress is None else progress) or {})
    created = as_utc(row.created)
    updated = as_utc(row.updated)
    seconds = (updated - created).total_seconds()
    evaluations = int(progress.get("evaluations") or 0)
    spec = dict(row.spec or {})
    best_signature = progress.get("best_signature")
    return {
        "id": row.id,
        "kind": "job",
        "problem": spec.get("problem"),
        "status": row.status,
        "reason": progress.get("reason"),
        "created": created.isoformat(),
        "updated": updated.isoformat(),
        "best_fitness": progress.get("best"),
        "best_signature": best_signature,
        # bool(): SQLite's JSON_EXTRACT answers a JSON false as 0.
        "solved": None if progress.get("solved") is None else bool(progress["solved"]),
        "evaluations": evaluations,
        "generations": int(progress.get("generation") or 0),
        "seconds": seconds,
        "config": spec,
    }


def _with_rates(entry: dict[str, Any]) -> dict[str, Any]:
    """A listed run or job with its mean evaluations per second and its age."""
    seconds = float(entry.get("seconds") or 0.0)
    entry["evals_per_s"] = entry["evaluations"] / seconds if seconds > 0 else 0.0
    entry["age_s"] = _age_s(entry.get("created"))
    entry["live"] = entry["status"] in LIVE_STATUSES
    return entry


def runs_and_jobs(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """The newest runs and jobs together, newest first."""
    # Only the listed progress fields, extracted by the database: reading each row's whole progress parsed
    # every job's history (500 KB of JSON for a 2,000-epoch job) to show six numbers.
    fields = [JOBS.c.progress[key].label(f"p_{key}") for key in LISTED_PROGRESS]
    with engine.connect() as connection:
        columns = (JOBS.c.id, JOBS.c.spec, JOBS.c.status, JOBS.c.created, JOBS.c.updated, *fields)
        rows = connection.execute(select(*columns).order_by(JOBS.c.created.desc()).limit(limit)).all()
    jobs = [_job_dict(row, {key: getattr(row, f"p_{key}") for key in LISTED_PROGRESS}) for row in rows]
    runs = list_runs(engine, limit)
    for run in runs:
        run.pop("config", None)
        run.pop("summary", None)
    for job in jobs:
        job.pop("config", None)
    merged = sorted(runs + jobs, key=lambda entry: entry["created"], reverse=True)[:limit]
    return [_with_rates(entry) for entry in merged]


def _job_points(progress: dict[str, Any], created: datetime) -> list[dict[str, Any]]:
    """A job's progress history as points per island epoch, with evaluations per second between an
    island's consecutive epochs (where both carry their time)."""
    points: list[dict[str, Any]] = []
    last: dict[int, tuple[datetime, int]] = {}
    for entry in progress.get("history") or []:
        island = int(entry.get("island", 0))
        evaluations = int(entry.get("evaluations") or 0)
        stamp = entry.get("updated")
        moment = datetime.fromisoformat(stamp) if stamp else None
        rate = None
        if moment is not None:
            before_moment, before = last.get(island, (created, 0))
            span = (moment - before_moment).total_seconds()
            rate = (evaluations - before) / span if span > 0 else None
            last[island] = (moment, evaluations)
        points.append(
            {
                "island": island,
                "epoch": entry.get("epoch"),
                "generation": int(entry.get("generation") or 0),
                "best": entry.get("best"),
                "mean": entry.get("mean"),
                "evaluations": evaluations,
                # Milliseconds and tenths of an evaluation per second: more digits are JSON text, not data.
                "seconds": round((moment - created).total_seconds(), 3) if moment is not None else None,
                "evals_per_s": round(rate, 1) if rate is not None else None,
                # Recorded per epoch since the dashboard plots them (older entries have neither).
                "stillborn_rate": entry.get("stillborn_rate"),
                # As recorded, [pGCs, share above 0.5, mean evolvability] per layer: turning 2,000 epochs'
                # layers into a run's dicts cost ~40 ms a request (measured), and the figures hold them too.
                "pgc": entry.get("pgc"),
            }
        )
    return points


def _job_detail(engine: Engine, job_id: str) -> dict[str, Any] | None:
    """A job's detail with its history points, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(JOBS).where(JOBS.c.id == job_id)).first()
    if row is None:
        return None
    detail = _job_dict(row)
    progress = dict(row.progress or {})
    detail["points"] = _job_points(progress, as_utc(row.created))
    detail["islands"] = JobSpec.model_validate(row.spec).islands
    detail["progress"] = {k: v for k, v in progress.items() if k not in ("history", "attempts")}
    return detail


def run_or_job(engine: Engine, run_id: str) -> dict[str, Any]:
    """The run or job `run_id` with its history as points (island, generation, best, mean, evaluations,
    seconds, evals_per_s, stillborn_rate; a run's also its cache hit rates and pgc_layers, a job's its epoch
    and pgc: [pGCs, share above 0.5, mean evolvability] per layer)."""
    check_run_id(run_id)
    run = get_run(engine, run_id)
    if run is not None:
        points = run_history(engine, run_id)
        run["points"] = points
        run["islands"] = int((run.get("config") or {}).get("islands") or 1)
        return _with_rates(run)
    job = _job_detail(engine, run_id)
    if job is None:
        raise NotFoundError(f"no run or job {run_id!r} in this Gene Pool")
    return _with_rates(job)
