"""`evolve()`: the one-call Python API of the engine (`from egp import evolve`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from egp.config import get_settings
from egp.engine.config import EvolutionConfig, EvolutionResult, GenerationRecord
from egp.engine.evolve import evolve_problem
from egp.engine.gene_pool import GenePool, MemoryGenePool
from egp.engine.run_recorder import RunRecorder
from egp.engine.sources import SourceSpec, parse_sources
from egp.problems.base import Problem
from egp.problems.registry import get_problem
from egp.run_settings import EMBEDDED_DEFAULTS as DEFAULTS
from egp.run_settings import RunSettings


def open_pool(url: str | None) -> GenePool:
    """The Gene Pool at `url` (default: the configured one); `memory://` keeps it in this process."""
    target = url if url is not None else get_settings().gene_pool_url
    if target.startswith("memory://"):
        return MemoryGenePool()
    from egp.storage.sql_pool import open_gene_pool

    return open_gene_pool(target)


def run_recorder(pool: GenePool) -> RunRecorder | None:
    """A recorder of the run in `pool`'s `runs` tables if it is a SQL Gene Pool (an in-memory one keeps
    nothing)."""
    if isinstance(pool, MemoryGenePool):
        return None
    from egp.storage.runs import SQLRunRecorder
    from egp.storage.sql_pool import SQLGenePool

    return SQLRunRecorder(pool.url) if isinstance(pool, SQLGenePool) else None


def evolve(
    problem: str | Problem,
    *,
    population: int = DEFAULTS.population,
    generations: int = DEFAULTS.generations,
    seed: int = DEFAULTS.seed,
    islands: int = DEFAULTS.islands,
    target: float | None = DEFAULTS.target,
    stop_when_solved: bool = DEFAULTS.stop_when_solved,
    max_evaluations: int | None = DEFAULTS.max_evaluations,
    wall_seconds: float | None = DEFAULTS.wall_seconds,
    meta_evolution: bool = DEFAULTS.meta_evolution,
    epoch_generations: int | None = DEFAULTS.epoch_generations,
    migrants: int = DEFAULTS.migrants,
    sources: str | tuple[SourceSpec, ...] | None = DEFAULTS.sources,
    gene_pool: str | GenePool | None = None,
    progress: Callable[[GenerationRecord], None] | None = None,
    **settings: Any,
) -> EvolutionResult:
    """Evolve a solution to `problem` (a name, a `module:attribute` reference or a Problem instance).

    The run settings and their defaults are `egp.run_settings.RunSettings`'s (a job's are the same); further
    keyword arguments are engine settings of EvolutionConfig.
    """
    chosen = problem if isinstance(problem, Problem) else get_problem(problem)
    # model_construct: the values are checked once, by EvolutionConfig.check, with its messages.
    run = RunSettings.model_construct(
        population=population,
        generations=generations,
        seed=seed,
        islands=islands,
        target=target,
        stop_when_solved=stop_when_solved,
        max_evaluations=max_evaluations,
        wall_seconds=wall_seconds,
        meta_evolution=meta_evolution,
        epoch_generations=epoch_generations,
        migrants=migrants,
    )
    values = run.engine_values(get_settings()) | settings
    # Sources as text ('best=0.5,related=0.25:none') or as parsed SourceSpecs; a bad one: EvolutionError.
    values["sources"] = parse_sources(sources) if isinstance(sources, str) else sources
    config = EvolutionConfig(**values)
    pool = gene_pool if gene_pool is not None and not isinstance(gene_pool, str) else open_pool(gene_pool)
    try:
        recorder = run_recorder(pool)
        result = evolve_problem(chosen, config, pool, progress=progress, recorder=recorder)
        result.run_id = getattr(recorder, "run_id", None)
        return result
    finally:
        if pool is not gene_pool:
            pool.close()
