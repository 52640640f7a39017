"""What a worker or executor process keeps between tasks: its Gene Pool handles and warm evaluators.

Both are caches: a Gene Pool handle per URL (connections are made lazily and disposed after fork) and each
problem's CaseEvaluator, whose output cache is keyed by content (sub-GC signature and input columns), so
reusing it changes no result, only what must be computed (an island's members are re-scored at every epoch
start and their shared sub-GCs are found in it).
"""

from __future__ import annotations

import functools

from egp.engine.blocks import BlockLibrary
from egp.engine.config import EvolutionConfig
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator
from egp.problems.base import Problem
from egp.storage.sql_pool import SQLGenePool, check_schema

_WARM_EVALUATORS: dict[bytes, CaseEvaluator] = {}


@functools.cache
def gene_pool(url: str) -> SQLGenePool:
    """This process's Gene Pool on `url` (checked to be at schema head once); set `.worker` for provenance."""
    check_schema(url)
    return SQLGenePool(url)


def warm_engine(
    problem: Problem, config: EvolutionConfig, pool: SQLGenePool, job: str, blocks: BlockLibrary
) -> Engine:
    """An engine for a job's island epoch on this process's warm evaluator for `problem` (its own becomes
    that the first time), with the job's building blocks; the island restores its own pGC pools, so none
    are loaded here."""
    engine = Engine(
        problem,
        config,
        pool,
        job=job,
        evaluator=_WARM_EVALUATORS.get(problem.identity),
        load_pgcs=False,
        blocks=blocks,
    )
    _WARM_EVALUATORS[problem.identity] = engine.evaluator
    return engine


def reset_process_state() -> None:
    """Forget per-process Gene Pools and warm evaluators (call after fork, with egp.db.dispose_engines)."""
    gene_pool.cache_clear()
    _WARM_EVALUATORS.clear()
