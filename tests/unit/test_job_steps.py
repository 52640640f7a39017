"""A job's steps driven by hand on SQLite Gene Pools: the result depends on the seed, not on the order in
which epochs run, and a duplicate or resent step changes nothing."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from egp.config import FitnessMode, load_settings
from egp.db import dispose_engines
from egp.engine.config import EvolutionConfig
from egp.engine.evolve import evolve_problem
from egp.engine.gene_pool import MemoryGenePool
from egp.engine.island_epoch import IslandSnapshot
from egp.jobs.epoch import run_epoch, start_job
from egp.jobs.fanout import RemoteFitness
from egp.jobs.fitness import evaluate_batch
from egp.jobs.process import gene_pool, reset_process_state
from egp.jobs.progress import mark_dispatched
from egp.jobs.spec import make_spec
from egp.jobs.store import JobStatus, JobStore
from egp.migrations import upgrade
from egp.problems import KozaQuartic

SPEC = {"population": 24, "generations": 40, "islands": 3, "seed": 5, "epoch_generations": 5, "migrants": 2}


def run_job(
    url: str, pick: random.Random | None, problem_name: str = "koza-quartic", **values: Any
) -> dict[str, Any]:
    """Run a job's steps until it ends, sending the due epochs in the order `pick` shuffles them (None:
    in order); returns the final progress and every recorded snapshot.

    With fitness_mode="remote" the executor's work (`evaluate_batch`, as the fitness task runs it) is done
    in this process as each batch is sent.
    """
    reset_process_state()
    upgrade(url)
    settings = load_settings(gene_pool_url=url)
    spec, problem = make_spec(problem_name, settings, **(SPEC | values))
    store = JobStore(url)
    job = store.create(spec, problem.identity, job_id="job-determinism")
    remote = None
    if spec.fitness_mode == FitnessMode.REMOTE:
        pool = gene_pool(url)
        remote = RemoteFitness(
            settings,
            job,
            problem_name,
            lambda args: evaluate_batch(settings, pool, *args[:3], "executor/test", *args[3:]),
            pool,
        )
    queue: list[tuple[int, int]] = []

    def send(due: list[tuple[int, int]]) -> None:
        """What the worker does with a step's dispatch list: send each epoch, then mark it sent."""
        for island, epoch in due:
            queue.append((island, epoch))
            mark_dispatched(url, job, island, epoch)

    send(start_job(settings, job, "test", remote).dispatch)
    steps = 0
    while queue and steps < 300:
        steps += 1
        index = pick.randrange(len(queue)) if pick is not None else 0
        island, epoch = queue.pop(index)
        if pick is not None and pick.random() < 0.2:
            queue.append((island, epoch))  # a duplicate delivery of the same epoch, later
        send(run_epoch(settings, job, island, epoch, "test", None, remote).dispatch)
    assert not queue, "the job's steps did not come to an end"
    info = store.get(job)
    pool = gene_pool(url)
    states = {
        (island, epoch): pool.epoch_state(job, island, epoch)
        for island in range(spec.islands)
        for epoch in range(-1, 10)
        if pool.epoch_recorded(job, island, epoch)
    }
    dispose_engines()
    reset_process_state()
    return {"status": info.status, "progress": info.progress, "states": states}


def summary(result: dict[str, Any]) -> tuple[Any, ...]:
    """What must agree between two runs of the same job."""
    progress = result["progress"]
    return (
        result["status"],
        progress.get("reason"),
        progress.get("best_signature"),
        progress.get("best"),
        progress.get("evaluations"),
        sorted(result["states"].items()),
    )


def test_a_job_gives_the_same_result_in_any_epoch_order(tmp_path: Path) -> None:
    """Three islands with migration, epochs sent in order and in two shuffled orders with duplicates:
    identical best GC, evaluations and every island snapshot."""
    runs = [
        run_job(f"sqlite:///{tmp_path / f'pool{k}.db'}", pick, stop_when_solved=False)
        for k, pick in enumerate((None, random.Random(1), random.Random(2)))
    ]
    assert runs[0]["status"] == JobStatus.FINISHED and runs[0]["progress"]["reason"] == "generations"
    assert len(runs[0]["states"]) == 3 * 9  # the initial populations (epoch -1) and epochs 0-7
    assert summary(runs[0]) == summary(runs[1]) == summary(runs[2])


@pytest.mark.parametrize("problem_name", ["koza-quartic", "even-parity-3"])
def test_remote_fitness_takes_the_course_of_local_fitness(tmp_path: Path, problem_name: str) -> None:
    """The same job scored by the executor's code gives local fitness's best GC, evaluations and every
    island snapshot, in shuffled epoch orders with duplicates. (It used to differ from the second island's
    initial population on: island 0's fan-out stored its members before island 1 was drawn, and island 1's
    UNRELATED source took them from the Gene Pool.)"""
    runs = [
        run_job(f"sqlite:///{tmp_path / f'{mode}.db'}", random.Random(k), problem_name, fitness_mode=mode)
        for k, mode in enumerate(("local", "remote"))
    ]
    assert runs[0]["status"] == JobStatus.FINISHED and runs[0]["progress"]["evaluations"] > 0
    assert summary(runs[0]) == summary(runs[1])


def test_solving_ends_a_job_the_same_way_in_any_epoch_order(tmp_path: Path) -> None:
    """A job solved mid-way gives the same best GC, evaluations and snapshots in any order."""
    first, second = (
        run_job(f"sqlite:///{tmp_path / f'pool{k}.db'}", random.Random(k), generations=200) for k in (4, 5)
    )
    assert first["progress"]["reason"] == "solved"
    assert summary(first) == summary(second)


def test_a_solved_job_ends_after_every_island_finishes_that_epoch(tmp_path: Path) -> None:
    """The job ends 'solved' at the epoch its first solution was found; no island ran a later epoch."""
    result = run_job(f"sqlite:///{tmp_path / 'pool.db'}", random.Random(3), generations=200)
    progress = result["progress"]
    assert progress["reason"] == "solved" and progress["solved"]
    finish = progress["finish_epoch"]
    assert max(epoch for _, epoch in result["states"]) == finish
    assert progress["evaluations"] == sum(
        IslandSnapshot.from_json(state).evaluations
        for (island, epoch), state in result["states"].items()
        if epoch == max(e for i, e in result["states"] if i == island)
    )


def test_an_evaluation_budget_is_shared_among_the_islands(tmp_path: Path) -> None:
    """max_evaluations 1000 over 3 islands: each island stops within its share, the job on 'evaluations'."""
    result = run_job(
        f"sqlite:///{tmp_path / 'pool.db'}",
        None,
        max_evaluations=1000,
        stop_when_solved=False,
        generations=400,
    )
    progress = result["progress"]
    assert progress["reason"] == "evaluations"
    assert progress["evaluations"] == 1000


def test_a_single_island_job_solves_as_an_embedded_run_does(tmp_path: Path) -> None:
    """One island, no migration: the job solves koza-quartic, as the embedded run of the same settings does.

    Their evaluations differ: an embedded run keeps every score it made across epochs, while each epoch of a
    job starts from the island's snapshot and scores again an offspring an earlier epoch had already met.
    """
    result = run_job(f"sqlite:///{tmp_path / 'pool.db'}", None, islands=1, generations=200)
    assert result["progress"]["reason"] == "solved"
    embedded = evolve_problem(
        KozaQuartic(),
        EvolutionConfig(population=24, generations=200, islands=1, seed=5, epoch_generations=5),
        MemoryGenePool(),
    )
    assert embedded.solved
