"""What a stalled job needs re-dispatched: used by `egp job resume` and the DB manager's watchdog."""

from __future__ import annotations

from egp.jobs.store import JobInfo, JobStatus, JobStore


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


__all__ = ["next_epochs"]
