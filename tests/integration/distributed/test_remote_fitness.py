"""Remote fitness without Celery: an executor's stored score is the whole local Score, and selection uses it.

The engine keeps one survivor per behaviour first (a digest of the outputs) and, on niche problems, shares
each case's reward. A remote score that carried only the fitness made every remote GC look alike to
selection: islands filled with neutral variants of one program and a remote job stalled on a local optimum
(koza-quartic sat at 0.884 for minutes where local fitness passes 0.95 within two epochs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from egp.config import Settings, load_settings
from egp.db import dispose_engines
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.lineage import closure_for
from egp.genetic_code.execution import Executor
from egp.jobs.epoch import run_epoch, start_job
from egp.jobs.fitness import RemoteFitness, evaluate_batch, read_results
from egp.jobs.process import gene_pool, reset_process_state
from egp.jobs.spec import JobSpec
from egp.jobs.store import JobStore
from egp.migrations import upgrade
from egp.problems.registry import get_problem
from egp.storage.sql_pool import SQLGenePool


@pytest.fixture
def fresh_processes() -> Iterator[None]:
    """Per-process Gene Pools and engines do not outlive the test (its database is dropped)."""
    reset_process_state()
    yield
    reset_process_state()
    dispose_engines()


def _url(backend: str, create_postgres_database: Callable[[], str], tmp_path: Path) -> str:
    url = create_postgres_database() if backend == "postgres" else f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade(url)
    return url


def _synchronous(settings: Settings, pool: SQLGenePool, job: str, problem: str) -> RemoteFitness:
    """The worker side of remote fitness with the executor's work done at once, in this process."""
    return RemoteFitness(
        settings, job, problem, lambda args: evaluate_batch(settings, pool, *args[:3], "executor/test", *args[3:]), pool
    )


@pytest.mark.usefixtures("fresh_processes")
@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
@pytest.mark.parametrize("problem_name", ["koza-quartic", "multiplexer-6"])
def test_an_executor_score_is_the_whole_local_score(
    backend: str, problem_name: str, create_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    """Fitness, solved, reason, behaviour digest and per-case scores survive the trip through the table."""
    url = _url(backend, create_postgres_database, tmp_path)
    settings = load_settings(gene_pool_url=url)
    pool = SQLGenePool(url)
    problem = get_problem(problem_name)
    engine = Engine(problem, JobSpec(problem=problem_name, seed=7).evolution_config(settings), pool)
    members = engine.initial_population(0)
    pool.put_many(closure_for([engine.lookup(s) for s in members], engine.lookup))
    evaluate_batch(settings, pool, problem_name, None, [s.hex() for s in members], "executor/test")
    stored = read_results(pool, problem.identity, members)
    local = CaseEvaluator(problem, Executor(dict(engine.store)))
    assert set(stored) == set(members)
    for signature in members:
        expected: Score = local.score(engine.lookup(signature))
        got = stored[signature]
        assert (got.fitness, got.solved, got.reason) == (expected.fitness, expected.solved, expected.reason)
        assert got.behaviour == expected.behaviour and len(got.behaviour) > 0
        if expected.cases is None:
            assert got.cases is None
        else:
            assert got.cases is not None and np.array_equal(got.cases, expected.cases)
    assert len({stored[s].behaviour for s in members}) > 1
    if problem.survivability == "niche":
        assert all(stored[s].cases is not None for s in members)


@pytest.mark.usefixtures("fresh_processes")
def test_a_remote_epoch_keeps_one_survivor_per_behaviour_first(
    create_postgres_database: Callable[[], str],
) -> None:
    """The members a remote epoch records list every distinct behaviour before any neutral variant."""
    url = create_postgres_database()
    upgrade(url)
    settings = load_settings(gene_pool_url=url, epoch_generations=5)
    spec = JobSpec(problem="koza-quartic", seed=5, fitness_mode="remote", generations=5)
    store = JobStore(url)
    problem = get_problem(spec.problem)
    job = store.create(spec, problem.identity)
    pool = gene_pool(url)
    remote = _synchronous(settings, pool, job, spec.problem)
    assert start_job(settings, job, "worker/test", remote).dispatch == [(0, 0), (1, 0)]
    assert run_epoch(settings, job, 0, 0, "worker/test", None, remote).action == "recorded"
    members = pool.members(job, 0)
    behaviours = [score.behaviour for score in _local_scores(pool, problem.name, members)]
    distinct = len(set(behaviours))
    assert distinct > 1
    assert len(set(behaviours[:distinct])) == distinct, "a neutral variant ranks before a distinct behaviour"


def _local_scores(pool: SQLGenePool, problem_name: str, signatures: list[bytes]) -> list[Score]:
    store = {gc.signature: gc for gc in pool.closure(signatures)}
    evaluator = CaseEvaluator(get_problem(problem_name), Executor(store))
    return [evaluator.score(store[s]) for s in signatures]


@pytest.mark.usefixtures("fresh_processes")
def test_a_remote_fan_out_writes_only_new_nodes_and_every_gc_is_found(
    create_postgres_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker writes each GC the executors need once (not the sub-GCs already in the Gene Pool), and
    no executor finds a GC or sub-GC missing."""
    url = create_postgres_database()
    upgrade(url)
    settings = load_settings(gene_pool_url=url, epoch_generations=4)
    spec = JobSpec(problem="multiplexer-6", seed=3, fitness_mode="remote", generations=8, islands=1)
    store = JobStore(url)
    job = store.create(spec, get_problem(spec.problem).identity)
    pool = gene_pool(url)
    written: list[bytes] = []
    fanning_out = [False]
    original_put, original_call = SQLGenePool.put, RemoteFitness.__call__

    def counting_put(self: SQLGenePool, connection: Any, gcs: list[Any], *args: Any) -> Any:
        """Record what each fan-out writes (the epoch's own commit writes its members again, a no-op)."""
        if fanning_out[0]:
            written.extend(gc.signature for gc in gcs)
        return original_put(self, connection, gcs, *args)

    def fan_out(self: RemoteFitness, *args: Any) -> Any:
        """The fan-out, with its writes counted."""
        fanning_out[0] = True
        try:
            return original_call(self, *args)
        finally:
            fanning_out[0] = False

    assert start_job(
        settings, job, "worker/test", _synchronous(settings, pool, job, spec.problem)
    ).dispatch == [(0, 0)]
    monkeypatch.setattr(SQLGenePool, "put", counting_put)
    monkeypatch.setattr(RemoteFitness, "__call__", fan_out)
    for epoch in (0, 1):  # a worker makes one RemoteFitness per epoch task
        remote = _synchronous(settings, pool, job, spec.problem)
        written.clear()
        assert run_epoch(settings, job, 0, epoch, "worker/test", None, remote).action == "recorded"
        assert written
        assert len(written) == len(set(written)), "a GC was written twice"
    with pool.engine.connect() as connection:
        rejected = connection.execute(
            text("SELECT count(*) FROM fitness_results WHERE reason LIKE 'rejected%'")
        ).scalar()
    assert rejected == 0
