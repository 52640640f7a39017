"""One job's evolution as database-driven steps: start (initial populations) and island epochs.

Every step reads what it needs from the Gene Pool and writes its results in one `record_epoch` transaction
together with the ledger row (job, island, epoch), so a worker can die at any point and a re-run (redelivery,
duplicate, watchdog, `egp job resume`) either changes nothing or does exactly the work that was lost:

- the initial population of island i is recorded as epoch -1 (its GCs, first scores and members);
- epoch e of island i loads the island's members, their sub-GCs and the pGC statistics, evolves
  `epoch_generations` generations with the RNG seeded from (job seed, island, e), and records epoch e;
- only one process runs an island at a time (a Postgres advisory lock held for the epoch); a task that
  finds its epoch already in the ledger does nothing and dispatches nothing, so duplicate chains die out;
- the island's progress is merged into the jobs row under its row lock, keyed by epoch, and the job
  finishes when an island solves it (or reaches the target) or every island spent its budget.

The functions here return what should be dispatched next; the Celery tasks in `workers/` send it.
"""

from __future__ import annotations

import functools
import logging
import time
import zlib
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from egp.config import FitnessMode, Settings
from egp.engine.config import EvolutionConfig
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.gene_pool import EpochRecord, ProblemStats
from egp.engine.population import Island, epoch_rng
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.jobs.spec import JobError, JobSpec
from egp.jobs.store import JobInfo, JobStatus, JobStore
from egp.problems.base import Problem
from egp.problems.registry import get_problem
from egp.storage.sql_pool import SQLGenePool, check_schema

logger = logging.getLogger(__name__)

# An epoch that keeps killing its worker is given up after this many starts (a poison epoch cannot loop).
MAX_EPOCH_ATTEMPTS = 4
STATUS_CHECK_SECONDS = 0.5  # how often a running epoch reads its job's status (to stop on a cancel)
# Progress history entries kept in the jobs row (one per island epoch).
HISTORY_LIMIT = 2000

ProgressCallback = Callable[[dict[str, Any]], None]
RemoteScorer = Callable[[Engine, list[GeneticCode], int, int], dict[bytes, Score]]


@dataclass
class StepResult:
    """What a step did and which epochs (island, epoch) the caller must dispatch next."""

    action: str
    dispatch: list[tuple[int, int]] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)


@functools.cache
def gene_pool(url: str) -> SQLGenePool:
    """This process's Gene Pool on `url` (checked to be at schema head once); set `.worker` for provenance."""
    check_schema(url)
    return SQLGenePool(url)


# Each problem's CaseEvaluator, kept warm between the epochs this process runs. Its output cache is keyed by
# content (sub-GC signature and input columns), so reusing it changes no result, only what must be computed:
# an island's members, re-scored at every epoch start, and their shared sub-GCs are found in it.
_WARM_EVALUATORS: dict[bytes, CaseEvaluator] = {}


def warm_engine(problem: Problem, config: EvolutionConfig, pool: SQLGenePool, job: str) -> Engine:
    """An engine on this process's warm evaluator for `problem` (its own becomes that the first time)."""
    engine = Engine(problem, config, pool, job=job, evaluator=_WARM_EVALUATORS.get(problem.identity))
    _WARM_EVALUATORS[problem.identity] = engine.evaluator
    return engine


def reset_process_state() -> None:
    """Forget per-process Gene Pools and warm evaluators (call after fork, with egp.db.dispose_engines)."""
    gene_pool.cache_clear()
    _WARM_EVALUATORS.clear()


def island_lock_key(job: str, island: int) -> int:
    """The advisory-lock key that makes one process at a time run an island of a job."""
    return zlib.crc32(f"egp:island:{job}:{island}".encode())


@contextmanager
def island_lock(pool: SQLGenePool, job: str, island: int) -> Iterator[bool]:
    """Try to take the island's lock for the duration of the block (always granted on SQLite)."""
    if not pool.postgres:
        yield True
        return
    key = island_lock_key(job, island)
    with pool.engine.connect() as connection:
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
                except DBAPIError:  # the connection died: the server released the lock with it
                    logger.warning("island lock connection lost; the lock went with it")


def _problem(spec: JobSpec) -> Problem:
    try:
        return get_problem(spec.problem)
    except Exception as error:
        raise JobError(f"job problem {spec.problem!r} cannot be loaded here: {error}") from error


def _record(pool: SQLGenePool, record: EpochRecord, worker: str) -> bool:
    """record_epoch, with the worker's name on the GCs it stores."""
    pool.worker = worker
    return pool.record_epoch(record)


# ---------------------------------------------------------------------------------------------- start


def start_job(settings: Settings, job_id: str, worker: str, remote: RemoteScorer | None = None) -> StepResult:
    """Create and record every island's initial population (epoch -1) and return the epoch-0 dispatches."""
    url = settings.gene_pool_url
    store = JobStore(url)
    info = store.get(job_id)
    if info.status.final:
        return StepResult("skipped")
    store.set_status(job_id, JobStatus.RUNNING, only_from=(JobStatus.QUEUED,))
    pool = gene_pool(url)
    pool.worker = worker
    spec = info.spec
    problem = _problem(spec)
    recorded = store.recorded_epochs(job_id)
    missing = [i for i in range(spec.islands) if i not in recorded]
    if missing:
        engine = Engine(problem, spec.evolution_config(settings), pool, job=job_id)
        for island in missing:
            before = engine.evaluations
            if remote is not None:
                engine.evaluator = _remote_evaluator(engine, remote, island, -1)  # type: ignore[assignment]
                members = _remote_initial(engine, island)
            else:
                members = engine.initial_population(island)
            record = EpochRecord(problem=engine.problem_id, job=job_id, island=island, epoch=-1)
            for signature in members:
                gc = engine.lookup(signature)
                if signature not in engine.persisted:
                    engine.persist(record, gc)
                    record.problem_stats[signature] = ProblemStats(
                        fitness_total=engine.fitness(signature),
                        fitness_count=1,
                        survivability=engine.survivability[signature],
                    )
            record.members = list(members)
            _record(pool, record, worker)
            _merge_progress(store, job_id, island, -1, engine, members, engine.evaluations - before, 0, False)
    recorded = store.recorded_epochs(job_id)
    return StepResult("started", [(i, e + 1) for i, e in sorted(recorded.items()) if e == -1])


def _remote_evaluator(engine: Engine, remote: RemoteScorer, island: int, epoch: int) -> _PrefetchedEvaluator:
    """An evaluator for `engine` whose scores come from the executor pool, fanned out for (island, epoch)."""
    return _PrefetchedEvaluator(lambda gcs: remote(engine, gcs, island, epoch))


def _remote_initial(engine: Engine, island: int) -> list[bytes]:
    """initial_population with every new member scored by the executor pool in one fan-out."""
    evaluator = engine.evaluator
    assert isinstance(evaluator, _PrefetchedEvaluator)
    evaluator.deferred = True
    try:
        members = engine.initial_population(island)
    finally:
        evaluator.deferred = False
    pending = [engine.lookup(s) for s in members if s in evaluator.placeholder]
    scores = evaluator.fetch(pending)
    for gc in pending:
        score = scores[gc.signature]
        engine.scores[gc.signature] = score
        engine.survivability[gc.signature] = score.fitness
        evaluator.placeholder.discard(gc.signature)
        if score.solved and engine.solved_by is None:
            engine.solved_by = gc
    return members


class _PrefetchedEvaluator:
    """Stands in for the CaseEvaluator in remote mode: answers from scores the executors produced."""

    #: The engine hands over each generation whole, for `prefetch` to score in one executor fan-out.
    batched = True

    def __init__(self, fetch: Callable[[list[GeneticCode]], dict[bytes, Score]]) -> None:
        self.fetch = fetch  # scores GCs in one executor fan-out
        self.ready: dict[bytes, Score] = {}
        self.deferred = False
        self.placeholder: set[bytes] = set()
        self.hit_rate = 0.0

    def prefetch(self, gcs: Sequence[GeneticCode]) -> None:
        """Have the executor pool score those of `gcs` without a score yet, in one fan-out."""
        missing = {gc.signature: gc for gc in gcs if gc.signature not in self.ready}
        if missing:
            self.ready.update(self.fetch(list(missing.values())))

    def score(self, gc: GeneticCode) -> Score:
        """The executor's score of `gc`; while deferred, a placeholder to be replaced after the fan-out."""
        found = self.ready.get(gc.signature)
        if found is not None:
            return found
        if self.deferred:
            self.placeholder.add(gc.signature)
            return Score(0.0, False, "pending")
        raise JobError(f"GC {gc.signature.hex()} has no remote score")


# ---------------------------------------------------------------------------------------------- epochs


def _attempt(store: JobStore, job_id: str, island: int, epoch: int) -> int:
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


def run_epoch(
    settings: Settings,
    job_id: str,
    island: int,
    epoch: int,
    worker: str,
    report: ProgressCallback | None = None,
    remote: RemoteScorer | None = None,
) -> StepResult:
    """Evolve one island for one epoch and record it; the next epoch, if any, is returned to dispatch."""
    url = settings.gene_pool_url
    store = JobStore(url)
    info = store.get(job_id)
    if info.status != JobStatus.RUNNING:
        return StepResult(f"job {info.status}")
    pool = gene_pool(url)
    pool.worker = worker
    with island_lock(pool, job_id, island) as got:
        if not got:
            return StepResult("busy")  # another process runs this island now
        if pool.epoch_recorded(job_id, island, epoch):
            info = store.get(job_id)
            merged = (info.progress.get("islands") or {}).get(str(island)) or {}
            if int(merged.get("epoch", -2)) >= epoch:
                if merged.get("done") or int(merged.get("dispatched", -1)) > epoch:
                    return StepResult("recorded")  # a duplicate: whoever recorded it sent the next epoch
                # Recorded and merged, but the next epoch was never sent (a retry after a lost connection).
                return StepResult("resent", [(island, epoch + 1)] if info.status == JobStatus.RUNNING else [])
            # The run that recorded it died (or lost its connection) before merging progress: finish its job.
            return _catch_up(settings, store, pool, info, island, epoch, remote is not None)
        if not pool.epoch_recorded(job_id, island, epoch - 1):
            return StepResult("out of order")
        if _attempt(store, job_id, island, epoch) > MAX_EPOCH_ATTEMPTS:
            _fail(store, job_id, f"island {island} epoch {epoch} failed {MAX_EPOCH_ATTEMPTS} times")
            return StepResult("failed")
        return _evolve(settings, store, pool, info, island, epoch, worker, report, remote)


def mark_dispatched(url: str, job_id: str, island: int, epoch: int) -> None:
    """Note in the jobs row that (island, epoch) was sent, so a retried predecessor does not send it again."""
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


def fail_job(url: str, job_id: str, reason: str) -> None:
    """Mark a job failed with `reason` (unless it already ended)."""
    _fail(JobStore(url), job_id, reason)


def _fail(store: JobStore, job_id: str, reason: str) -> None:
    with store.engine.begin() as connection:
        try:
            info = store.locked(connection, job_id)
        except JobError:  # not a job of this Gene Pool: nothing to mark
            return
        if info.status.final:
            return
        progress = info.progress | {"reason": reason}
        store.write(connection, job_id, JobStatus.FAILED, progress)


def _catch_up(
    settings: Settings,
    store: JobStore,
    pool: SQLGenePool,
    info: JobInfo,
    island: int,
    epoch: int,
    remote: bool,
) -> StepResult:
    """Merge the progress of an epoch recorded by a run that died before merging it, and go on from there.

    That epoch's evaluation count is not known any more, so it is not added to the job's total.
    """
    spec = info.spec
    engine = Engine(_problem(spec), spec.evolution_config(settings), pool, job=info.id)
    members = _restore(engine, pool, info.id, island, remote, migrate=False)
    generation = min((epoch + 1) * engine.config.epoch_generations, spec.generations)
    return _merge_progress(
        store, info.id, island, epoch, engine, members, 0, generation, generation >= spec.generations
    )


def _restore(
    engine: Engine, pool: SQLGenePool, job_id: str, island: int, remote: bool, migrate: bool = True
) -> list[bytes]:
    """Load the island's members (and migrants from the previous island) with their scores into `engine`."""
    members = pool.members(job_id, island)
    config = engine.config
    if migrate and config.islands > 1 and config.migrants > 0:
        source = pool.members(job_id, (island - 1) % config.islands)
        arrivals = [s for s in source[: config.migrants] if s not in dict.fromkeys(members)]
    else:
        arrivals = []
    wanted = [*members, *arrivals]
    if not engine.load_closure(wanted):
        raise JobError(f"job {job_id} island {island}: members are missing from the Gene Pool")
    stats = pool.problem_stats(engine.problem_id, wanted)
    known = fitness_results(pool, engine.problem_id, wanted) if remote else {}
    for signature in wanted:
        gc = engine.lookup(signature)
        score = known.get(signature) if remote else engine.evaluator.score(gc)
        if score is None:
            value = stats[signature].fitness if signature in stats else 0.0
            score = Score(value, False, None)
        engine.scores[signature] = score
        stored = stats.get(signature)
        engine.survivability[signature] = stored.survivability if stored is not None else score.fitness
    if arrivals:
        members = members[: len(members) - len(arrivals)] + arrivals
    return members


def _evolve(
    settings: Settings,
    store: JobStore,
    pool: SQLGenePool,
    info: JobInfo,
    island: int,
    epoch: int,
    worker: str,
    report: ProgressCallback | None,
    remote: RemoteScorer | None,
) -> StepResult:
    spec = info.spec
    job_id = info.id
    problem = _problem(spec)
    progress = info.progress
    spent = int(progress.get("evaluations", 0))
    remaining = None if spec.max_evaluations is None else max(1, spec.max_evaluations - spent)
    config = spec.evolution_config(settings, max_evaluations=remaining)
    if remote is not None:
        engine = Engine(problem, config, pool, job=job_id)
        engine.evaluator = _remote_evaluator(engine, remote, island, epoch)  # type: ignore[assignment]
    else:
        engine = warm_engine(problem, config, pool, job_id)
    members = _restore(engine, pool, job_id, island, remote is not None)
    state = Island(island, members)
    state.best, state.stale = pool.island_state(job_id, island)  # stagnation counts across epoch tasks
    engine.select_survivors(state, [])
    state.record = EpochRecord(problem=engine.problem_id, job=job_id, island=island, epoch=epoch)
    rng = epoch_rng(spec.seed, island, epoch)
    epoch_generations = config.epoch_generations
    first = epoch * epoch_generations
    count = min(epoch_generations, spec.generations - first)
    if count <= 0:  # the budget was spent by the previous epoch, whose progress merge was lost: merge now
        return _merge_progress(store, job_id, island, epoch - 1, engine, state.members, 0, first, True)
    engine.evaluations = 0
    done_generations = first
    halted = _Halt(store, info)
    for step in range(count):
        if step and halted():
            break
        engine.generation(state, rng)
        done_generations = first + step + 1
        if report is not None:
            report(_meta(engine, state, island, epoch, done_generations, spent))
        if engine.stop_now():
            break
    engine.flush(state)  # record_epoch: GCs, statistic deltas, members and the ledger row in one transaction
    budget_spent = done_generations >= spec.generations
    return _merge_progress(
        store,
        job_id,
        island,
        epoch,
        engine,
        state.members,
        engine.evaluations,
        done_generations,
        budget_spent,
    )


class _Halt:
    """Whether a running epoch must stop before its next generation: the job's wall deadline passed, or
    the job is no longer running (cancelled).

    The status is read at most every STATUS_CHECK_SECONDS: reading the jobs row every generation cost about
    as much as the generations of a small problem.
    """

    def __init__(self, store: JobStore, info: JobInfo) -> None:
        """Watch `info`'s job in `store`."""
        self.store, self.job_id = store, info.id
        wall = info.spec.wall_seconds
        self.deadline = None if wall is None or info.created is None else info.created.timestamp() + wall
        self.checked = time.monotonic()

    def __call__(self) -> bool:
        """True when the epoch must stop now."""
        if self.deadline is not None and time.time() >= self.deadline:
            return True
        if time.monotonic() - self.checked < STATUS_CHECK_SECONDS:
            return False
        self.checked = time.monotonic()
        return self.store.status(self.job_id) != JobStatus.RUNNING


def _meta(
    engine: Engine, island: Island, index: int, epoch: int, generation: int, spent: int
) -> dict[str, Any]:
    best = engine.best_signature()
    fitness = [engine.fitness(s) for s in island.members]
    return {
        "island": index,
        "epoch": epoch,
        "generation": generation,
        "best_fitness": engine.fitness(best) if best is not None else None,
        "mean_fitness": sum(fitness) / len(fitness) if fitness else None,
        "evaluations": spent + engine.evaluations,
    }


def _merge_progress(
    store: JobStore,
    job_id: str,
    island: int,
    epoch: int,
    engine: Engine,
    members: list[bytes],
    evaluations: int,
    generation: int,
    budget_spent: bool,
) -> StepResult:
    """Merge one island epoch into the jobs row (once per epoch) and decide what comes next."""
    best = engine.best_signature()
    assert best is not None
    score = engine.scores[best]
    fitness = [engine.fitness(s) for s in members]
    spec: JobSpec
    with store.engine.begin() as connection:
        info = store.locked(connection, job_id)
        spec = info.spec
        progress = info.progress
        islands: dict[str, Any] = dict(progress.get("islands") or {})
        entry = dict(islands.get(str(island)) or {"epoch": -2, "evaluations": 0})
        fresh = int(entry["epoch"]) < epoch
        if fresh:
            entry = {
                "epoch": epoch,
                "generation": generation,
                "evaluations": int(entry["evaluations"]) + evaluations,
                "best": score.fitness,
                "best_signature": best.hex(),
                "mean": sum(fitness) / len(fitness) if fitness else 0.0,
                "solved": bool(score.solved),
                "done": budget_spent,
                "updated": datetime.now(UTC).isoformat(),
                "dispatched": int(entry.get("dispatched", -1)),
            }
            islands[str(island)] = entry
            history = list(progress.get("history") or [])
            history.append(
                {k: entry[k] for k in ("epoch", "generation", "evaluations", "best", "mean")}
                | {"island": island}
            )
            progress["history"] = history[-HISTORY_LIMIT:]
            progress["islands"] = islands
            progress["evaluations"] = sum(int(v["evaluations"]) for v in islands.values())
            progress["generation"] = max(int(v.get("generation", 0)) for v in islands.values())
            if score.fitness > float(progress.get("best", -1.0)) or (
                score.fitness == progress.get("best") and score.solved and not progress.get("solved")
            ):
                progress["best"] = score.fitness
                progress["best_signature"] = best.hex()
                progress["solved"] = bool(score.solved)
        status = info.status
        reason = _finished(spec, progress, info, islands)
        if status == JobStatus.RUNNING and reason is not None:
            status = JobStatus.FINISHED
            progress["reason"] = reason
        if fresh or status != info.status:
            store.write(connection, job_id, status, progress)
    dispatch: list[tuple[int, int]] = []
    if status == JobStatus.RUNNING and fresh and not entry.get("done"):
        dispatch.append((island, epoch + 1))
    return StepResult("recorded" if fresh else "duplicate", dispatch, progress)


def _finished(spec: JobSpec, progress: dict[str, Any], info: JobInfo, islands: dict[str, Any]) -> str | None:
    """Why the job is finished now, or None."""
    best = float(progress.get("best", 0.0))
    if spec.target is None and spec.stop_when_solved and progress.get("solved"):
        return "solved"
    if spec.target is not None and best >= spec.target:
        return "target"
    if spec.max_evaluations is not None and int(progress.get("evaluations", 0)) >= spec.max_evaluations:
        return "evaluations"
    if (
        spec.wall_seconds is not None
        and info.created is not None
        and (datetime.now(UTC) - info.created).total_seconds() >= spec.wall_seconds
    ):
        return "wall_seconds"
    if len(islands) == spec.islands and all(v.get("done") for v in islands.values()):
        return "generations"
    return None


# ---------------------------------------------------------------------------------------------- remote


def fitness_results(pool: SQLGenePool, problem: bytes, signatures: list[bytes]) -> dict[bytes, Score]:
    """Executor scores of `signatures` on `problem` found in the fitness_results table."""
    from egp.jobs.fitness import read_results

    return read_results(pool, problem, signatures)


def closure_for(
    engine: Engine, gcs: list[GeneticCode], stored: Container[bytes] = frozenset()
) -> list[GeneticCode]:
    """`gcs` and every sub-GC of theirs that is not a shipped codon, sub-GCs first; a GC in `stored` (known
    to be in the Gene Pool with its sub-GCs) is left out with everything under it."""
    registry = codon_registry()
    seen: dict[bytes, GeneticCode] = {}

    def visit(gc: GeneticCode) -> None:
        stack = [gc]
        order: list[GeneticCode] = []
        while stack:
            node = stack.pop()
            if node.signature in seen or node.signature in stored or registry.get(node.signature) is node:
                continue
            seen[node.signature] = node
            order.append(node)
            for sub in (node.gca, node.gcb):
                if sub is not None and sub not in seen:
                    stack.append(engine.lookup(sub))

    for gc in gcs:
        visit(gc)
    return sorted(seen.values(), key=lambda g: (g.code_depth, g.signature))


def mode_of(spec: JobSpec) -> FitnessMode:
    """The job's fitness mode."""
    return spec.fitness_mode or FitnessMode.LOCAL


__all__ = [
    "MAX_EPOCH_ATTEMPTS",
    "StepResult",
    "closure_for",
    "fail_job",
    "gene_pool",
    "island_lock",
    "mark_dispatched",
    "mode_of",
    "reset_process_state",
    "run_epoch",
    "start_job",
]
