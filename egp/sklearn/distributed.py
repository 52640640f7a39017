"""A fit run as a job of the distributed stack: the table saved where the workers read it, then chosen here.

The problem's data is written to a shared directory as a content-addressed `.npz` file and the job names it
by reference (`tabular:<path>`), so every worker rebuilds the same problem (same identity) from the file.
When the job ends, the returned program is chosen on the validation rows among the job's best and the Gene
Pool's fittest, exactly as an embedded fit does.
"""

from __future__ import annotations

from typing import Any

from egp.engine.config import EvolutionResult
from egp.problems.tabular import TabularRegression
from egp.sklearn.search import SearchOutcome, choose_program

#: How long a fit waits for its job beyond the job's own wall budget (or at all, without one), in seconds.
DEFAULT_WAIT_S = 3600.0


def fit_distributed(
    problem: TabularRegression,
    data_dir: str,
    *,
    settings: Any = None,
    wait_s: float | None = None,
    **run: Any,
) -> SearchOutcome:
    """Submit `problem` as a job (run settings as for `egp.evolve`), wait for it, choose the program."""
    import time

    from egp.client import Client
    from egp.jobs.spec import JobError
    from egp.jobs.store import JobStatus

    problem.save(data_dir)
    client = Client(settings)
    try:
        wall = run.pop("wall_seconds", None)
        spec = {key: value for key, value in run.items() if value is not None}
        if wall is not None:
            spec["wall_seconds"] = wall
        started = time.monotonic()
        job = client.submit(problem, **spec)
        limit = wait_s if wait_s is not None else (wall or 0.0) + DEFAULT_WAIT_S
        status = job.wait(timeout=limit)
        if status != JobStatus.FINISHED:
            raise JobError(f"job {job.id} ended {status}, not finished")
        best = job.best()
        if best is None:
            raise JobError(f"job {job.id} finished without a scored program")
        signature = bytes.fromhex(best.signature)
        pool = client.pool
        gc = {found.signature: found for found in pool.closure([signature])}[signature]
        program, validation, count = choose_program(problem, pool, gc)
        progress = job.info().progress
        result = EvolutionResult(
            problem=problem.name,
            solved=best.solved,
            best_fitness=best.fitness,
            best_signature=best.signature,
            best_source=best.source,
            best=gc,
            evaluations=int(progress.get("evaluations", 0)),
            generations=int(progress.get("generation", 0)),
            seconds=time.monotonic() - started,
        )
        return SearchOutcome(program, result, validation, count, job.history())
    finally:
        client.close()
