"""A curriculum: problems run in order on one Gene Pool, each starting from what the earlier ones left.

Nothing else is special about it: a run on a Gene Pool that holds related problems' results draws on them
(the RELATED source, the block library, the carried-over pGCs). `evolve_curriculum` runs the steps in this
process; `submit_curriculum` runs them as jobs, one after the other, through a Client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egp.api import evolve, open_pool
from egp.engine.config import EvolutionResult
from egp.engine.gene_pool import GenePool

if TYPE_CHECKING:
    from egp.client import Client, Job


@dataclass
class CurriculumStep:
    """One step's outcome, as the summary table shows it."""

    problem: str
    solved: bool
    best_fitness: float
    evaluations: int
    generations: int
    seconds: float

    @classmethod
    def of(cls, result: EvolutionResult) -> CurriculumStep:
        """The step of an embedded run's result."""
        return cls(
            result.problem,
            result.solved,
            result.best_fitness,
            result.evaluations,
            result.generations,
            result.seconds,
        )

    def as_dict(self) -> dict[str, Any]:
        """The step as JSON-ready data."""
        return {
            "problem": self.problem,
            "solved": self.solved,
            "best_fitness": self.best_fitness,
            "evaluations": self.evaluations,
            "generations": self.generations,
            "seconds": round(self.seconds, 3),
        }


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
