"""A job's progress in its jobs row: island epochs merged once each, the epoch barrier, and when it ends.

Epochs advance in step: epoch e + 1 of any island is sent only when every island has recorded epoch e (or has
spent its own budget), because epoch e + 1 of island i takes migrants from island i − 1's epoch e. The merge
that completes an epoch sends the next one for every island, under the jobs row lock, so exactly one
process does it. A job that is solved (or reaches its target) in epoch F finishes when every island has
recorded F: the other islands finish the epoch they are in and start no other, so a job's best GC and its
evaluations are those of epochs up to F on every island, whichever worker ran what when.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from egp.engine.island_epoch import IslandSnapshot
from egp.jobs.spec import JobError, JobSpec
from egp.jobs.store import JobInfo, JobStatus, JobStore

# Progress history entries kept in the jobs row (one per island epoch).
HISTORY_LIMIT = 2000


def island_budget(spec: JobSpec, island: int) -> int | None:
    """Island `island`'s share of the job's evaluation budget (None: no budget); shares add up to it."""
    if spec.max_evaluations is None:
        return None
    share, extra = divmod(spec.max_evaluations, spec.islands)
    return share + (1 if island < extra else 0)


def island_done(spec: JobSpec, island: int, snapshot: IslandSnapshot) -> bool:
    """Whether the island has spent its generations or its share of the evaluation budget."""
    budget = island_budget(spec, island)
    return snapshot.generation >= spec.generations or (budget is not None and snapshot.evaluations >= budget)


def _reached(spec: JobSpec, snapshot: IslandSnapshot) -> str | None:
    """'solved' or 'target' if the island's best ends the job, else None."""
    if spec.target is None and spec.stop_when_solved and snapshot.solved:
        return "solved"
    if spec.target is not None and snapshot.best_fitness >= spec.target:
        return "target"
    return None


def _better(candidate: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether `candidate`'s best beats `current`'s: fitter, else solved, else fewer codons, else the lower
    signature (so the job's best does not depend on the order the islands' epochs were merged in)."""

    def key(entry: dict[str, Any]) -> tuple[float, bool, int, str]:
        return (
            -float(entry.get("best", -1.0)),
            not entry.get("solved"),
            int(entry.get("codons", 0)),
            str(entry.get("best_signature") or "~"),
        )

    return key(candidate) < key(current)


def merge_epoch(
    store: JobStore,
    job_id: str,
    island: int,
    epoch: int,
    snapshot: IslandSnapshot,
    figures: dict[str, Any] | None = None,
) -> tuple[bool, list[tuple[int, int]], dict[str, Any], bool]:
    """Merge island `island`'s epoch `epoch` (its `snapshot`, and the epoch's `figures` for the history:
    stillborn rate, pGC layers) into the jobs row once and finish the job or release the next epoch; returns
    (merged now, the (island, epoch)s to send then mark, the progress, whether this merge ended the job)."""
    with store.engine.begin() as connection:
        info = store.locked(connection, job_id)
        spec = info.spec
        progress = info.progress
        islands: dict[str, Any] = dict(progress.get("islands") or {})
        entry = dict(islands.get(str(island)) or {"epoch": -2, "evaluations": 0})
        fresh = int(entry["epoch"]) < epoch
        if fresh:
            entry = _entry(snapshot, epoch, spec, island, int(entry.get("dispatched", -1)))
            islands[str(island)] = entry
            progress["islands"] = islands
            history = list(progress.get("history") or [])
            keys = ("epoch", "generation", "evaluations", "best", "mean", "updated")
            history.append({k: entry[k] for k in keys} | {"island": island} | (figures or {}))
            progress["history"] = history[-HISTORY_LIMIT:]
            progress["evaluations"] = sum(int(v["evaluations"]) for v in islands.values())
            progress["generation"] = max(int(v.get("generation", 0)) for v in islands.values())
            best = {k: progress.get(k) for k in ("best", "solved", "codons", "best_signature")}
            if "best" not in progress or _better(entry, best):
                for key in ("best", "solved", "codons", "best_signature"):
                    progress[key] = entry[key]
            reached = _reached(spec, snapshot)
            if reached is not None and int(progress.get("finish_epoch", epoch)) >= epoch:
                progress["finish_epoch"] = epoch
                progress["finish_reason"] = reached
        status, dispatch = _next(info, progress, islands)
        if fresh or status != info.status:
            store.write(connection, job_id, status, progress)
    return fresh, dispatch, progress, status != info.status and status.final


def pending_dispatch(store: JobStore, job_id: str) -> list[tuple[int, int]]:
    """The epochs whose barrier is passed but that are not marked sent (e.g. their sender died)."""
    with store.engine.begin() as connection:
        info = store.locked(connection, job_id)
        progress = info.progress
        status, dispatch = _next(info, progress, dict(progress.get("islands") or {}))
        if status != info.status:
            store.write(connection, job_id, status, progress)
    return dispatch


def mark_dispatched(url: str, job_id: str, island: int, epoch: int) -> None:
    """Note in the jobs row that (island, epoch) was sent, so it is not sent again."""
    store = JobStore(url)
    with store.engine.begin() as connection:
        info = store.locked(connection, job_id)
        progress = info.progress
        islands = dict(progress.get("islands") or {})
        entry = dict(islands.get(str(island)) or {"epoch": -2, "evaluations": 0})
        if int(entry.get("dispatched", -1)) >= epoch:
            return
        entry["dispatched"] = epoch
        islands[str(island)] = entry
        progress["islands"] = islands
        store.write(connection, job_id, info.status, progress)


def note_fitness(store: JobStore, job_id: str, choice: dict[str, Any]) -> None:
    """Record where the job scores, and why (egp.jobs.auto), in its progress (`progress["fitness"]`)."""
    with store.engine.begin() as connection:
        info = store.locked(connection, job_id)
        store.write(connection, job_id, info.status, info.progress | {"fitness": choice})


def _entry(
    snapshot: IslandSnapshot, epoch: int, spec: JobSpec, island: int, dispatched: int
) -> dict[str, Any]:
    """One island's progress entry after `epoch`."""
    return {
        "epoch": epoch,
        "generation": snapshot.generation,
        "evaluations": snapshot.evaluations,
        "best": snapshot.best_fitness,
        "best_signature": snapshot.best_signature.hex() if snapshot.best_signature is not None else None,
        "codons": snapshot.best_codons,
        "mean": snapshot.mean,
        "solved": snapshot.solved,
        "done": island_done(spec, island, snapshot),
        "updated": datetime.now(UTC).isoformat(),
        "dispatched": dispatched,
    }


def _next(
    info: JobInfo, progress: dict[str, Any], islands: dict[str, Any]
) -> tuple[JobStatus, list[tuple[int, int]]]:
    """The job's status after its merged epochs, and the epochs to send now (not yet marked sent)."""
    spec = info.spec
    status = info.status
    if status != JobStatus.RUNNING:
        return status, []
    found = [islands.get(str(i)) for i in range(spec.islands)]
    entries = [e for e in found if e is not None]
    if len(entries) < spec.islands:
        return status, []  # an initial population is not merged yet
    finish = progress.get("finish_epoch")
    reason: str | None = None
    if finish is not None and all(int(e["epoch"]) >= int(finish) or e.get("done") for e in entries):
        reason = str(progress.get("finish_reason") or "solved")
    elif all(e.get("done") for e in entries):
        reason = "evaluations" if _budget_spent(spec, progress) else "generations"
    elif (
        spec.wall_seconds is not None
        and info.created is not None
        and (datetime.now(UTC) - info.created).total_seconds() >= spec.wall_seconds
    ):
        reason = "wall_seconds"
    if reason is not None:
        progress["reason"] = reason
        return JobStatus.FINISHED, []
    if finish is not None:
        return status, []  # the other islands finish epoch `finish`, and start no other
    # Every island still evolving has recorded at least `epoch`: epoch + 1 may start on those at `epoch`.
    epoch = min(int(e["epoch"]) for e in entries if not e.get("done"))
    ready = epoch + 1
    return status, [
        (i, ready)
        for i, e in enumerate(entries)
        if not e.get("done") and int(e["epoch"]) == epoch and int(e.get("dispatched", -1)) < ready
    ]


def _budget_spent(spec: JobSpec, progress: dict[str, Any]) -> bool:
    """Whether the job's evaluation budget is spent."""
    return spec.max_evaluations is not None and int(progress.get("evaluations", 0)) >= spec.max_evaluations


def count_attempt(store: JobStore, job_id: str, island: int, epoch: int) -> int:
    """Count one more start of (island, epoch) in the jobs row; returns the count."""
    with store.engine.begin() as connection:
        info = store.locked(connection, job_id)
        progress = info.progress
        attempts = dict(progress.get("attempts") or {})
        last = attempts.get(str(island)) or {}
        count = int(last.get("count", 0)) + 1 if last.get("epoch") == epoch else 1
        attempts[str(island)] = {"epoch": epoch, "count": count}
        progress["attempts"] = attempts
        store.write(connection, job_id, info.status, progress)
    return count


def fail_job(url: str, job_id: str, reason: str) -> None:
    """Mark a job failed with `reason` (unless it already ended, or is not a job of this Gene Pool)."""
    store = JobStore(url)
    with store.engine.begin() as connection:
        try:
            info = store.locked(connection, job_id)
        except JobError:
            return
        if info.status.final:
            return
        store.write(connection, job_id, JobStatus.FAILED, info.progress | {"reason": reason})
