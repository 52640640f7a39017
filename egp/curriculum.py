"""A curriculum: problems run in order on one Gene Pool, each starting from what the earlier ones left.

Nothing else is special about it: a run on a Gene Pool that holds related problems' results draws on them
(the RELATED source, the block library, the carried-over pGCs). `evolve_curriculum` runs the steps in this
process; `submit_curriculum` runs them as jobs, one after the other, through a Client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from egp.api import evolve, open_pool
from egp.engine.config import EvolutionResult
from egp.engine.gene_pool import GenePool

if TYPE_CHECKING:
    from egp.client import Client, Job


def evolve_curriculum(
    problems: Sequence[str], *, gene_pool: str | GenePool | None = None, **settings: Any
) -> list[EvolutionResult]:
    """Run `problems` in order on one Gene Pool (`evolve` settings apply to every step)."""
    pool = gene_pool if gene_pool is not None and not isinstance(gene_pool, str) else open_pool(gene_pool)
    try:
        return [evolve(problem, gene_pool=pool, **settings) for problem in problems]
    finally:
        if pool is not gene_pool:
            pool.close()


def submit_curriculum(
    client: Client, problems: Sequence[str], *, timeout: float | None = None, **settings: Any
) -> list[Job]:
    """Run `problems` as jobs in order (each submitted when the previous one has ended; `submit` settings
    apply to every step); returns the jobs."""
    jobs = []
    for problem in problems:
        job = client.submit(problem, **settings)
        job.wait(timeout=timeout)
        jobs.append(job)
    return jobs
