"""What a stalled job needs re-dispatched: used by `egp job resume` and the DB manager's watchdog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from egp.db import as_utc
from egp.jobs.store import JobInfo, JobStatus, JobStore
from egp.storage.locks import advisory_lock
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


def stalled_jobs(url: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Running jobs whose epoch ledger (or, before any epoch, job row) has not advanced within the lease."""
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
    stalled = []
    for job, lease_s, updated, committed, epoch in rows:
        last = max(as_utc(t) for t in (updated, committed) if t is not None)
        if (moment - last).total_seconds() > lease_s:
            stalled.append(
                {"job": job, "last_epoch": epoch, "last_activity": last.isoformat(), "lease_s": int(lease_s)}
            )
    return stalled


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


__all__ = ["EPOCH_TASK", "START_TASK", "next_epochs", "redispatch", "redispatch_stalled", "stalled_jobs"]
