"""Remote fitness without Celery: an executor's stored score is the whole local Score, and selection uses it.

The engine keeps one survivor per behaviour first (a digest of the outputs) and, on niche problems, shares
each case's reward. A remote score that carried only the fitness made every remote GC look alike to
selection: islands filled with neutral variants of one program and a remote job stalled on a local optimum
(koza-quartic sat at 0.884 for minutes where local fitness passes 0.95 within two epochs).
"""

from __future__ import annotations

import time
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
from egp.jobs import fitness
from egp.jobs.epoch import run_epoch, start_job
from egp.jobs.fanout import RemoteFitness
from egp.jobs.fitness import evaluate_batch, read_results
from egp.jobs.process import gene_pool, reset_process_state
from egp.jobs.spec import JobSpec
from egp.jobs.store import JobStore
from egp.migrations import upgrade
from egp.problems import registry
from egp.problems.registry import get_problem
from egp.problems.regression import KozaQuartic
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
        settings,
        job,
        problem,
        lambda args: evaluate_batch(settings, pool, *args[:3], "executor/test", *args[3:]),
        pool,
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
    original_put, original_store = SQLGenePool.put, RemoteFitness.store

    def counting_put(self: SQLGenePool, connection: Any, gcs: list[Any], *args: Any) -> Any:
        """Record what each fan-out writes (the epoch's own commit writes its members again, a no-op)."""
        if fanning_out[0]:
            written.extend(gc.signature for gc in gcs)
        return original_put(self, connection, gcs, *args)

    def fan_out(self: RemoteFitness, *args: Any) -> Any:
        """The fan-out, with its writes counted."""
        fanning_out[0] = True
        try:
            return original_store(self, *args)
        finally:
            fanning_out[0] = False

    assert start_job(
        settings, job, "worker/test", _synchronous(settings, pool, job, spec.problem)
    ).dispatch == [(0, 0)]
    monkeypatch.setattr(SQLGenePool, "put", counting_put)
    monkeypatch.setattr(RemoteFitness, "store", fan_out)  # every fan-out (and streamed chunk) stores here
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


def _members(settings: Settings, pool: SQLGenePool, problem_name: str, seed: int = 7) -> list[bytes]:
    """An initial population of `problem_name`, stored in the Gene Pool for an executor to read."""
    problem = get_problem(problem_name)
    engine = Engine(problem, JobSpec(problem=problem_name, seed=seed).evolution_config(settings), pool)
    members = engine.initial_population(0)
    pool.put_many(closure_for([engine.lookup(s) for s in members], engine.lookup))
    return members


def _forget_results(pool: SQLGenePool) -> None:
    with pool.transaction() as connection:
        connection.execute(text("DELETE FROM fitness_results"))


@pytest.mark.usefixtures("fresh_processes")
def test_an_executor_keeps_compiled_gcs_and_outputs_between_batches(
    create_postgres_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second batch of GCs the process has seen reads no GC from the Gene Pool and computes no output
    again, and its scores are those of the first batch, returned in bulk."""
    url = create_postgres_database()
    upgrade(url)
    settings = load_settings(gene_pool_url=url)
    pool = SQLGenePool(url)
    members = _members(settings, pool, "koza-quartic")
    hexes = [s.hex() for s in members]
    first = evaluate_batch(settings, pool, "koza-quartic", None, hexes, "executor/test")
    runtime = fitness._runtimes["koza-quartic"]
    misses = runtime.evaluator.misses
    reads: list[int] = []
    original = SQLGenePool.get_many

    def counting(self: SQLGenePool, signatures: Any) -> Any:
        wanted = list(signatures)
        reads.append(len(wanted))
        return original(self, wanted)

    monkeypatch.setattr(SQLGenePool, "get_many", counting)
    _forget_results(pool)  # as for another job: the batch must be scored again
    second = evaluate_batch(settings, pool, "koza-quartic", "job-2", hexes, "executor/test")
    assert fitness._runtimes["koza-quartic"] is runtime
    assert reads == [], "GCs the process had were read again"
    assert runtime.evaluator.misses == misses, "outputs were computed again"
    assert second["scored"] == len(set(members)) and second["written"] == len(set(members))
    assert fitness.decode_scores(second["scores"]) == fitness.decode_scores(first["scores"])
    assert set(fitness.decode_scores(second["scores"])) == set(members)


class _KozaQuarticV2(KozaQuartic):
    """koza-quartic as a later version of the problem would be."""

    version = "2"


@pytest.mark.usefixtures("fresh_processes")
def test_a_changed_problem_version_or_codon_registry_drops_the_executor_caches(
    create_postgres_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new problem version (its identity) or codon registry (its hash) gets a new runtime: the cached
    GCs and outputs are not reused; a batch sent for the old problem identity is refused with the reason."""
    url = create_postgres_database()
    upgrade(url)
    settings = load_settings(gene_pool_url=url)
    pool = SQLGenePool(url)
    members = _members(settings, pool, "koza-quartic")
    hexes = [s.hex() for s in members]
    old_identity = get_problem("koza-quartic").identity
    evaluate_batch(settings, pool, "koza-quartic", None, hexes, "executor/test", old_identity.hex())
    runtime = fitness._runtimes["koza-quartic"]
    # The same GCs again, with nothing changed: the runtime is kept.
    evaluate_batch(settings, pool, "koza-quartic", None, hexes, "executor/test", old_identity.hex())
    assert fitness._runtimes["koza-quartic"] is runtime

    monkeypatch.setitem(registry._instances, "koza-quartic", _KozaQuarticV2())
    new_identity = get_problem("koza-quartic").identity
    assert new_identity != old_identity
    refused = evaluate_batch(settings, pool, "koza-quartic", None, hexes, "executor/test", old_identity.hex())
    assert "identity" in refused["error"] and "scores" not in refused
    assert fitness._runtimes["koza-quartic"] is not runtime
    versioned = fitness._runtimes["koza-quartic"]
    result = evaluate_batch(settings, pool, "koza-quartic", None, hexes, "executor/test", new_identity.hex())
    assert result["written"] == len(set(members))  # stored under the new identity, scored afresh
    assert fitness._runtimes["koza-quartic"] is versioned and versioned.evaluator.misses > 0

    monkeypatch.setattr(fitness, "registry_digest", lambda: "another codon registry")
    evaluate_batch(settings, pool, "koza-quartic", None, hexes, "executor/test", new_identity.hex())
    assert fitness._runtimes["koza-quartic"] is not versioned
    assert fitness._runtimes["koza-quartic"].key == (new_identity, "another codon registry")


def _run_start(
    url: str, problem_name: str, send: Callable[[list[Any]], Any] | None, **values: Any
) -> dict[str, Any]:
    """Start a job (fitness_mode auto) with `send` as the executor pool; returns its progress."""
    settings = load_settings(gene_pool_url=url, fitness_probe_timeout_s=0.5)
    values = {"seed": 4, "population": 20, "generations": 2} | values
    spec = JobSpec(problem=problem_name, **values).resolved(settings)
    assert spec.fitness_mode == "auto"
    store = JobStore(url)
    job = store.create(spec, get_problem(problem_name).identity)
    pool = gene_pool(url)
    remote = None
    if send is not None:
        remote = RemoteFitness(settings, job, problem_name, send, pool)
    start_job(settings, job, "worker/test", remote)
    return store.get(job).progress


class _NoAnswer:
    """What `send` returns when no executor consumes the queue: a result that never comes."""

    def get(self, timeout: float, **_: Any) -> Any:
        time.sleep(timeout)
        raise TimeoutError("no result")


SLOW = "poison_problems:SlowQuartic"


@pytest.mark.usefixtures("fresh_processes")
def test_auto_scores_a_cheap_problem_locally_and_an_expensive_one_remotely(
    create_postgres_database: Callable[[], str],
) -> None:
    """koza-quartic: one evaluation costs less than storing a GC for the executors, so none is asked;
    a 50-ms evaluation with an (in-process) executor answering: remote; with no executor answering, or
    none to send to: local. Each choice is in the job's progress with its two figures."""
    url = create_postgres_database()
    upgrade(url)
    sent: list[Any] = []

    def executor(args: list[Any]) -> Any:
        sent.append(args)
        settings = load_settings(gene_pool_url=url)
        return evaluate_batch(settings, gene_pool(url), *args[:3], "executor/test", *args[3:])

    cheap = _run_start(url, "koza-quartic", executor)["fitness"]
    assert cheap["mode"] == "local" and "executors not asked" in cheap["reason"], cheap
    assert cheap["evaluation_ms"] < cheap["hop_ms"] * 2 and not sent

    expensive = _run_start(url, SLOW, executor)["fitness"]
    assert expensive["mode"] == "remote", expensive
    assert expensive["evaluation_ms"] >= 2 * expensive["hop_ms"] > 0 and sent

    silent = _run_start(url, SLOW, lambda args: _NoAnswer(), seed=9)["fitness"]
    assert silent["mode"] == "local" and "no executor answered" in silent["reason"], silent
    assert silent["evaluation_ms"] >= 50

    unsent = _run_start(url, SLOW, None, seed=10)["fitness"]
    assert unsent["mode"] == "local" and unsent["reason"] == "no executor pool to send to"
