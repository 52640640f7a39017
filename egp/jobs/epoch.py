"""One job's evolution as database-driven steps: start (initial populations) and island epochs.

Every step reads what it needs from the Gene Pool and writes its results in one `record_epoch` transaction
together with the ledger row (job, island, epoch) and the island's snapshot, so a worker can die at any point
and a re-run (redelivery, duplicate, watchdog, `egp job resume`) either changes nothing or does exactly the
work that was lost:

- the initial population of island i is recorded as epoch -1 (its GCs, first scores, members, the pGC pools
  the job starts from);
- epoch e of island i starts from its snapshot of epoch e − 1 and island i − 1's emigrants of epoch e − 1
  (`restore_island`), runs `run_island_epoch` — the same island epoch as an embedded run — and records e;
- only one process runs an island at a time (a Postgres advisory lock held for the epoch); a task that
  finds its epoch already recorded merges it if that was lost, and otherwise only sends what is due;
- the island's progress is merged into the jobs row (egp.jobs.progress), which releases the next epoch of
  every island once all have recorded this one, and finishes the job.

The functions here return what should be dispatched next; the Celery tasks in `workers/` send it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from egp.config import FitnessMode, Settings
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator
from egp.engine.gene_pool import EpochRecord, ProblemStats
from egp.engine.island_epoch import (
    IslandSnapshot,
    job_blocks,
    restore_island,
    run_island_epoch,
    snapshot_island,
)
from egp.engine.population import Island
from egp.engine.relations import record_run_knowledge
from egp.engine.run_recorder import pgc_layer_figures
from egp.genetic_code.gc import GeneticCode
from egp.jobs.auto import FitnessChoice, choose
from egp.jobs.fanout import Fanout, RemoteFitness
from egp.jobs.fitness import read_results
from egp.jobs.process import gene_pool, warm_engine
from egp.jobs.progress import (
    count_attempt,
    fail_job,
    island_budget,
    merge_epoch,
    note_fitness,
    pending_dispatch,
)
from egp.jobs.remote import RemoteScorer, apply_scores, deferred_initial_population, use_remote
from egp.jobs.spec import JobError, JobSpec
from egp.jobs.store import JobInfo, JobStatus, JobStore
from egp.problems.base import Problem
from egp.problems.registry import get_problem
from egp.storage.locks import lock_key, try_advisory_lock
from egp.storage.sql_pool import SQLGenePool

logger = logging.getLogger(__name__)

# An epoch that keeps killing its worker is given up after this many starts (a poison epoch cannot loop).
MAX_EPOCH_ATTEMPTS = 4
STATUS_CHECK_SECONDS = 0.5  # how often a running epoch reads its job's status (to stop on a cancel)

ProgressCallback = Callable[[dict[str, Any]], None]


@dataclass
class StepResult:
    """What a step did and which epochs (island, epoch) the caller must dispatch next."""

    action: str
    dispatch: list[tuple[int, int]] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)


def _problem(spec: JobSpec) -> Problem:
    """The job's problem, or a JobError naming why it cannot be loaded in this process."""
    try:
        return get_problem(spec.problem)
    except Exception as error:
        raise JobError(f"job problem {spec.problem!r} cannot be loaded here: {error}") from error


def start_job(
    settings: Settings, job_id: str, worker: str, remote: RemoteFitness | None = None
) -> StepResult:
    """Create and record every island's initial population (epoch -1) and return the epoch-0 dispatches.

    Each island's population is made by its own engine with the job's share of the evaluation budget, all
    from the Gene Pool as it was before any of them is recorded, so they do not depend on one another.
    `remote` scores them in fitness modes remote and auto (which chooses here, and records its choice in
    the job's progress).
    """
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
    made: list[tuple[EpochRecord, IslandSnapshot]] = []
    scorer = remote if spec.fitness_mode in (FitnessMode.REMOTE, FitnessMode.AUTO) else None
    built: list[_Drawn] = []
    for island in range(spec.islands):
        if island in recorded:
            continue
        config = spec.evolution_config(settings, max_evaluations=island_budget(spec, island))
        engine = Engine(problem, config, pool, job=job_id)
        own = engine.evaluator
        if scorer is not None:
            # Scored after every island is drawn: a fan-out stores GCs in the Gene Pool, where the next
            # island's sources would find them (see egp.jobs.remote).
            use_remote(engine, scorer, island, -1)
            members, pending = deferred_initial_population(engine, island)
        else:
            members, pending = engine.initial_population(island), []
        built.append(_Drawn(island, engine, own, members, pending))
    if built:
        choice = _score_initial(settings, spec, scorer, built)
        note_fitness(store, job_id, choice.to_json())
    for drawn in built:
        island, engine, members = drawn.island, drawn.engine, drawn.members
        record = EpochRecord(
            problem=engine.problem_id, job=job_id, island=island, epoch=-1, problem_name=problem.name
        )
        for signature in members:
            if signature not in engine.persisted:
                engine.persist(record, engine.lookup(signature))
                record.problem_stats[signature] = ProblemStats(
                    fitness_total=engine.fitness(signature),
                    fitness_count=1,
                    survivability=engine.survivability[signature],
                )
        state = Island(island, list(members), evaluations=engine.evaluations)
        snapshot = snapshot_island(engine, state)
        snapshot.blocks = [(block.signature, weight) for block, weight in engine.blocks.blocks]
        record.members = list(members)
        record.state = snapshot.to_json()
        made.append((record, snapshot))
    # One transaction: a re-run after a crash finds all of them recorded or none, so every population is
    # made from the Gene Pool as it was before the job.
    pool.record_epochs([record for record, _ in made])
    dispatch: list[tuple[int, int]] = []
    progress: dict[str, Any] = {}
    for record, snapshot in made:
        _, dispatch, progress, _ended = merge_epoch(store, job_id, record.island, -1, snapshot)
    if not made:  # a re-run after every population was recorded: merge any that was lost, send what is due
        for island in range(spec.islands):
            _catch_up(store, pool, job_id, island, -1)
        dispatch = pending_dispatch(store, job_id)
    return StepResult("started", dispatch, progress)


@dataclass
class _Drawn:
    """One island's initial population drawn at a job's start: its engine (and the engine's own evaluator),
    its members and those still to be scored."""

    island: int
    engine: Engine
    own: CaseEvaluator
    members: list[bytes]
    pending: list[GeneticCode]


def _score_initial(
    settings: Settings, spec: JobSpec, scorer: RemoteFitness | None, built: list[_Drawn]
) -> FitnessChoice:
    """Score the drawn populations' pending members where the job's fitness mode says (auto: measured on
    the first island's, egp.jobs.auto); returns the choice made."""
    if scorer is None:
        local = spec.fitness_mode in (None, FitnessMode.LOCAL)
        return FitnessChoice(
            FitnessMode.LOCAL, "fitness_mode=local" if local else "no executor pool to send to"
        )
    fanouts: dict[int, Fanout] = {}
    if spec.fitness_mode == FitnessMode.AUTO:
        first = built[0]
        timeout = settings.fitness_probe_timeout_s
        choice, fanout = choose(scorer, first.engine, first.pending, first.island, timeout)
        if fanout is not None:
            fanouts[first.island] = fanout
    else:
        choice = FitnessChoice(FitnessMode.REMOTE, "fitness_mode=remote")
    if choice.mode == FitnessMode.REMOTE:
        # Every island's fan-out is out at once, so the executors score them side by side.
        for drawn in built:
            if drawn.island not in fanouts:
                fanouts[drawn.island] = scorer.submit(drawn.engine, drawn.pending, drawn.island, -1)
    for drawn in built:
        fanout = fanouts.get(drawn.island)
        if fanout is not None:
            scores = scorer.collect(fanout)
        else:
            scores = {gc.signature: drawn.own.score(gc) for gc in drawn.pending}
        apply_scores(drawn.engine, drawn.pending, scores)
    return choice


def run_epoch(
    settings: Settings,
    job_id: str,
    island: int,
    epoch: int,
    worker: str,
    report: ProgressCallback | None = None,
    remote: RemoteScorer | None = None,
) -> StepResult:
    """Evolve one island for one epoch and record it; returns what is due to be dispatched next."""
    url = settings.gene_pool_url
    store = JobStore(url)
    info = store.get(job_id)
    if info.status != JobStatus.RUNNING:
        return StepResult(f"job {info.status}")
    pool = gene_pool(url)
    pool.worker = worker
    # One process at a time runs an island: a duplicate delivery finds the lock taken and does nothing.
    with try_advisory_lock(pool, lock_key(f"island:{job_id}:{island}")) as got:
        if not got:
            return StepResult("busy")  # another process runs this island now
        if pool.epoch_recorded(job_id, island, epoch):
            # A duplicate, or a re-run of an epoch whose progress merge (or dispatch) was lost.
            caught_up = _catch_up(store, pool, job_id, island, epoch)
            return StepResult("recorded" if not caught_up else "caught up", pending_dispatch(store, job_id))
        if not pool.epoch_recorded(job_id, island, epoch - 1):
            return StepResult("out of order")
        merged = (info.progress.get("islands") or {}).get(str(island)) or {}
        if int(merged.get("epoch", -2)) < epoch - 1:
            # The run that recorded the previous epoch died before merging it: merge it first (it may have
            # finished the job, or this island).
            _catch_up(store, pool, job_id, island, epoch - 1)
            info = store.get(job_id)
            if info.status != JobStatus.RUNNING:
                return StepResult(f"job {info.status}")
            if ((info.progress.get("islands") or {}).get(str(island)) or {}).get("done"):
                return StepResult("done")
        entries = info.progress.get("islands") or {}
        waiting = [
            other
            for other in range(info.spec.islands)
            if not pool.epoch_recorded(job_id, other, epoch - 1)
            and not (entries.get(str(other)) or {}).get("done")
        ]
        if waiting:
            return StepResult("waiting")  # the islands still in epoch - 1 send this one when they finish
        finish = info.progress.get("finish_epoch")
        if finish is not None and epoch > int(finish):
            return StepResult("finishing")
        if count_attempt(store, job_id, island, epoch) > MAX_EPOCH_ATTEMPTS:
            fail_job(url, job_id, f"island {island} epoch {epoch} failed {MAX_EPOCH_ATTEMPTS} times")
            return StepResult("failed")
        return _evolve(settings, store, pool, info, island, epoch, report, remote)


def _catch_up(store: JobStore, pool: SQLGenePool, job_id: str, island: int, epoch: int) -> bool:
    """Merge a recorded epoch whose merge was lost (from its recorded snapshot); True if it was lost."""
    state = pool.epoch_state(job_id, island, epoch)
    if state is None:
        raise JobError(f"job {job_id} island {island} epoch {epoch} is recorded without its state")
    fresh, _, _, _ = merge_epoch(store, job_id, island, epoch, IslandSnapshot.from_json(state))
    return fresh


def _evolve(
    settings: Settings,
    store: JobStore,
    pool: SQLGenePool,
    info: JobInfo,
    island: int,
    epoch: int,
    report: ProgressCallback | None,
    remote: RemoteScorer | None,
) -> StepResult:
    """Restore the island, run its epoch (recorded with its snapshot) and merge it into the job."""
    spec = info.spec
    job_id = info.id
    problem = _problem(spec)
    previous = pool.epoch_state(job_id, island, epoch - 1)
    if previous is None:
        raise JobError(f"job {job_id} island {island}: epoch {epoch - 1} is recorded without its state")
    spent = IslandSnapshot.from_json(previous).evaluations
    budget = island_budget(spec, island)
    remaining = None if budget is None else max(1, budget - spent)
    config = spec.evolution_config(settings, max_evaluations=remaining)
    engine = warm_engine(problem, config, pool, job_id, job_blocks(pool, job_id, island))
    scores = None
    if remote is not None:
        use_remote(engine, remote, island, epoch)
        scores = lambda signatures: read_results(pool, engine.problem_id, signatures)  # noqa: E731
    state = restore_island(engine, island, epoch, scores)
    count = min(config.epoch_generations, spec.generations - state.generation)
    halted = _Halt(store, info)
    started_at = state.evaluations

    def on_generation(island_state: Island, _done: int) -> None:
        """Progress for Flower (best effort)."""
        if report is not None:
            report(_meta(engine, island_state, epoch, started_at))

    snapshot = run_island_epoch(engine, state, epoch, max(count, 0), halt=halted, on_generation=on_generation)
    assert snapshot is not None
    figures = epoch_figures(engine)
    fresh, dispatch, progress, ended = merge_epoch(store, job_id, island, epoch, snapshot, figures)
    if ended:
        record_run_knowledge(engine)  # the epoch that ended the job records what the job learnt
    return StepResult("recorded" if fresh else "duplicate", dispatch, progress)


class _Halt:
    """Whether a running epoch must stop before its next generation: the job's wall deadline passed, or
    the job is no longer running (cancelled).

    The status is read at most every STATUS_CHECK_SECONDS: reading the jobs row every generation would cost
    about as much as the generations of a small problem.
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


def epoch_figures(engine: Engine) -> dict[str, Any]:
    """An epoch's figures for the job's progress history (the dashboard plots them): its stillborn rate
    (the engine is made for the epoch, so its counts are the epoch's) and, per pGC layer in order, [pGCs,
    share above 0.5, mean evolvability]. Compact and rounded: the history is one JSON value rewritten at every
    merge (with dicts per layer a 2,000-epoch history grew from 290 KB to 960 KB; like this, to 500 KB)."""
    layers = [
        [layer["pgcs"], round(layer["above_neutral"], 4), round(layer["evolvability"], 6)]
        for layer in pgc_layer_figures(engine)
    ]
    rate = round(engine.stillborn / engine.offspring, 4) if engine.offspring else None
    return {"stillborn_rate": rate, "pgc": layers}


def _meta(engine: Engine, island: Island, epoch: int, started_at: int) -> dict[str, Any]:
    """A running epoch's progress as Flower shows it (the task's state meta)."""
    best = engine.best_signature()
    fitness = [engine.fitness(s) for s in island.members]
    return {
        "island": island.index,
        "epoch": epoch,
        "generation": island.generation,
        "best_fitness": engine.fitness(best) if best is not None else None,
        "mean_fitness": sum(fitness) / len(fitness) if fitness else None,
        "evaluations": island.evaluations,
        "epoch_evaluations": island.evaluations - started_at,
    }


__all__ = [
    "MAX_EPOCH_ATTEMPTS",
    "StepResult",
    "run_epoch",
    "start_job",
]
