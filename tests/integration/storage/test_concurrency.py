"""Several processes writing overlapping GCs and statistics at once: nothing lost or doubled, no deadlock."""

from __future__ import annotations

import hashlib
import multiprocessing
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from egp.config import DatabaseRole
from egp.db import dispose_engines, get_engine
from egp.engine.gene_pool import EpochRecord, PgcStats, ProblemStats
from egp.migrations import upgrade
from egp.storage.sql_pool import SQLGenePool

from .conftest import make_gcs

PROBLEM = hashlib.sha256(b"concurrency").digest()
PROCESSES = 4
ROUNDS = 6


def writer(
    url: str, index: int, barrier: multiprocessing.synchronize.Barrier, errors: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    """Record ROUNDS epochs of shared and own GCs with statistics, in a shuffled order, after the barrier."""
    dispose_engines()  # connections inherited through fork belong to the parent
    try:
        shared = make_gcs(40, seed=1)
        own = make_gcs(10, seed=100 + index)
        pool = SQLGenePool(url)
        rng = random.Random(index)
        barrier.wait(timeout=60)
        for round_ in range(ROUNDS):
            gcs = shared + own
            rng.shuffle(gcs)  # sub-GCs may come after their users: storage must not care
            stats = {g.signature: ProblemStats(0.5, 1, 0.25, 1, 0.0, 1) for g in shared}
            pool.record_epoch(
                EpochRecord(
                    problem=PROBLEM,
                    new_gcs=gcs,
                    problem_stats=dict(rng.sample(list(stats.items()), len(stats))),
                    pgc_stats={(shared[0].signature, 1): PgcStats(1.0, 1, 0.0, 0)},
                    job=f"job-{index}",
                    island=0,
                    epoch=round_,
                    members=[g.signature for g in own],
                )
            )
            pool.put_many(reversed(gcs))
    except BaseException as error:  # sent to the parent, which fails the test
        errors.put(f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_concurrent_writers(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], tmp_path: Path
) -> None:
    """Counts equal processes x rounds x deltas exactly; every GC is stored once."""
    if backend == "postgres":
        url = postgres_databases(DatabaseRole.POOL)
    else:
        url = f"sqlite:///{tmp_path / 'pool.db'}"
        upgrade(url)
    dispose_engines()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    errors: multiprocessing.Queue[str] = context.Queue()
    processes = [context.Process(target=writer, args=(url, k, barrier, errors)) for k in range(PROCESSES)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0, "a writer hung or crashed"
    assert errors.empty(), errors.get()
    shared = make_gcs(40, seed=1)
    everything = {g.signature for g in shared}
    for k in range(PROCESSES):
        everything |= {g.signature for g in make_gcs(10, seed=100 + k)}
    with get_engine(url).connect() as connection:
        stored = [bytes(r[0]) for r in connection.execute(text("SELECT signature FROM genetic_codes"))]
        stats = connection.execute(
            text("SELECT signature, fitness_count, fitness_total, descendants FROM gc_problem_stats")
        ).all()
        pgc = connection.execute(text("SELECT fitness_count FROM pgc_stats")).scalar_one()
        ledger = connection.execute(text("SELECT count(*) FROM epochs")).scalar_one()
    assert len(stored) == len(set(stored)) and set(stored) == everything
    assert len(stats) == len(shared)
    expected = PROCESSES * ROUNDS
    assert all(r[1] == expected and r[2] == pytest.approx(0.5 * expected) and r[3] == expected for r in stats)
    assert pgc == expected and ledger == expected
