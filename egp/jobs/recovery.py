"""What a stalled job needs re-dispatched: used by `egp job resume`, the DB manager's watchdog, and an
evolution worker when it starts.

A job is stalled when nothing has advanced it (no ledger row, no job-row activity) within its lease *and* no
process is running any of its islands. The second condition is exact on Postgres: the process running an
island holds the island's advisory lock, and the server releases it the moment that process dies. So a
slow epoch (a long remote-fitness wait) is never re-dispatched, and the lease can be short (15 s by
default): what it still guards is a task lost while queued (a Redis restart, a worker killed with its
prefetched message). Workers that start again do not wait for the lease: `resume_idle_jobs` re-dispatches
every running job that no process is advancing, the moment a worker is ready. Epoch tasks are idempotent,
so a re-dispatch of one still queued costs one no-op task.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from egp.db import as_utc
from egp.jobs.store import JobInfo, JobStatus, JobStore
from egp.storage.locks import advisory_lock, lock_key
from egp.task_names import EPOCH_TASK, START_TASK


def next_epochs(store: JobStore, info: JobInfo) -> list[tuple[int, int]] | None:
    """The (island, epoch) each unfinished island must run next; None when the start task must run again.

    Epoch tasks are idempotent (ledger + island lock), so sending one that is already queued or running
    costs at most a no-op task.
    """
    if info.status.final:
        return []
    recorded = store.recorded_epochs(info.id)
    if info.status == JobStatus.QUEUED or len(recorded) < info.spec.islands:
        return None
    islands = info.progress.get("islands") or {}
    plan = []
    for island in range(info.spec.islands):
        entry = islands.get(str(island)) or {}
        if entry.get("done") and int(entry.get("epoch", -2)) >= recorded[island]:
            continue
        plan.append((island, recorded[island] + 1))
    return plan


def redispatch(store: JobStore, info: JobInfo, send: Callable[[str, list[Any]], Any]) -> list[Any]:
    """Send what the job needs next through `send(task_name, args)`; returns the (island, epoch) sent."""
    plan = next_epochs(store, info)
    if plan is None:
        send(START_TASK, [info.id])
        sent: list[Any] = ["start"]
    else:
        for island, epoch in plan:
            send(EPOCH_TASK, [info.id, island, epoch])
        sent = [list(p) for p in plan]
    store.touch(info.id)  # the lease starts again: no second re-dispatch while this one runs
    return sent


def stalled_jobs(url: str, now: datetime | None = None, idle_s: float | None = None) -> list[dict[str, Any]]:
    """Running jobs with no activity within their lease (or `idle_s`, when given) and no island running."""
    from egp.storage.sql_pool import SQLGenePool

    pool = SQLGenePool(url)
    moment = now or datetime.now(UTC)
    with advisory_lock(url, "watchdog") as got:
        if not got:
            return []
        with pool.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT j.id, j.lease_s, j.updated, max(e.committed), max(e.epoch)"
                    " FROM jobs j LEFT JOIN epochs e ON e.job = j.id"
                    " WHERE j.status = 'running' GROUP BY j.id, j.lease_s, j.updated ORDER BY j.id"
                )
            ).all()
            held = _held_advisory_locks(connection) if pool.postgres else set()
    stalled = []
    for job, lease_s, updated, committed, epoch in rows:
        last = max(as_utc(t) for t in (updated, committed) if t is not None)
        limit = lease_s if idle_s is None else idle_s
        if (moment - last).total_seconds() <= limit or (held and _running(held, job, JobStore(url))):
            continue
        stalled.append(
            {"job": job, "last_epoch": epoch, "last_activity": last.isoformat(), "lease_s": int(lease_s)}
        )
    return stalled


def _held_advisory_locks(connection: Connection) -> set[int]:
    """The advisory-lock keys held now in this database (by live sessions only: a dead one's are gone)."""
    rows = connection.execute(
        text(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    ).all()
    # A bigint key k is reported as classid = k >> 32, objid = k & 0xffffffff; EGP keys are 32-bit crc32s.
    return {int(r[0]) for r in rows}


def _running(held: set[int], job: str, store: JobStore) -> bool:
    """True when some process holds the lock of one of the job's islands (it is being evolved now)."""
    islands = store.get(job).spec.islands
    return any(lock_key(f"island:{job}:{island}") in held for island in range(islands))


def redispatch_stalled(
    url: str, send: Callable[[str, list[Any]], Any], now: datetime | None = None
) -> list[dict[str, Any]]:
    """The watchdog: re-dispatch running jobs whose ledger stalled past their lease, and lost starts.

    Epochs and starts are idempotent, so re-sending one that is in fact still queued or running is harmless.
    """
    store = JobStore(url)
    moment = now or datetime.now(UTC)
    stalled = stalled_jobs(url, moment)
    for info in store.list(limit=1000):
        updated = info.updated
        if info.status == JobStatus.QUEUED and updated and (moment - updated).total_seconds() > info.lease_s:
            stalled.append({"job": info.id, "last_epoch": None, "lease_s": info.lease_s})
    for entry in stalled:
        info = store.get(entry["job"])
        entry["dispatched"] = redispatch(store, info, send)
    return stalled


def resume_idle_jobs(
    url: str, send: Callable[[str, list[Any]], Any], idle_s: float = 2.0
) -> list[dict[str, Any]]:
    """Re-dispatch every running job that no process has advanced for `idle_s` and none is evolving now.

    Called when an evolution worker becomes ready: a worker that (re)starts is the moment lost work can run
    again, and waiting for the watchdog's lease would only add idle time to the recovery.
    """
    store = JobStore(url)
    stalled = stalled_jobs(url, idle_s=idle_s)
    for entry in stalled:
        entry["dispatched"] = redispatch(store, store.get(entry["job"]), send)
    return stalled


__all__ = [
    "EPOCH_TASK",
    "START_TASK",
    "next_epochs",
    "redispatch",
    "redispatch_stalled",
    "resume_idle_jobs",
    "stalled_jobs",
]
