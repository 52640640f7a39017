"""Fitting a formula: evolve on the training rows, then let the validation rows choose the returned program.

The fittest program on the training rows is often not the one that predicts best: the search keeps many
near-equal programs, some of which fit noise. So the run's best program and the Gene Pool's fittest
programs on the problem are the candidates; each gets its least-squares scale and offset from the training
rows, and the one with the highest R² on the validation rows is returned (ties: the smaller program).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from egp.engine.config import EvolutionResult, GenerationRecord
from egp.engine.gene_pool import GenePool, MemoryGenePool
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.problems.tabular import FloatArray, TabularRegression, linear_scale, r2_score
from egp.sklearn.model import FittedProgram

#: How many of the Gene Pool's fittest programs compete with the run's best on the validation rows.
CANDIDATES = 20


def validation_split(rows: int, fraction: float) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    """Training and validation row indices for a held-out `fraction` (None: too few rows to hold any out).

    The split is seeded by the row count only, never by the run's seed: the same data always gives the
    same problem (and so the same identity in the Gene Pool), whatever seed each fit uses.
    """
    if fraction <= 0.0:
        return None
    held = round(rows * fraction)
    if held < 2 or rows - held < 2:
        return None
    order = np.random.default_rng(rows).permutation(rows)
    return np.sort(order[held:]), np.sort(order[:held])


@dataclass
class SearchOutcome:
    """A fit's chosen program, the run it came from and how it was chosen."""

    program: FittedProgram
    result: EvolutionResult
    validation_r2: float | None
    candidates: int
    history: list[dict[str, Any]] = field(default_factory=list)


class _PoolStore(Mapping[bytes, GeneticCode]):
    """The Gene Pool seen as a read-only signature → GC mapping (for an Executor), memoised."""

    def __init__(self, pool: GenePool, known: Mapping[bytes, GeneticCode]) -> None:
        """A view of `pool`, starting from GCs already at hand."""
        self._pool = pool
        self._seen: dict[bytes, GeneticCode] = dict(known)

    def __getitem__(self, signature: bytes) -> GeneticCode:
        """The GC with this signature, from memory or the pool; KeyError if neither has it."""
        found = self._seen.get(signature)
        if found is None:
            found = self._pool.get_many([signature]).get(signature)
            if found is None:
                raise KeyError(signature)
            self._seen[signature] = found
        return found

    def get(self, signature: bytes, default: Any = None) -> Any:
        """The GC with this signature or `default`."""
        try:
            return self[signature]
        except KeyError:
            return default

    def __iter__(self) -> Any:
        """The GCs read so far."""
        return iter(self._seen)

    def __len__(self) -> int:
        """How many GCs were read so far."""
        return len(self._seen)


def fit_program(
    problem: TabularRegression,
    pool: GenePool | None = None,
    *,
    progress: Callable[[GenerationRecord], None] | None = None,
    **settings: Any,
) -> SearchOutcome:
    """Evolve a program for `problem` on `pool` (default: a fresh in-memory pool) and choose the returned one.

    `settings` are `egp.evolve` keywords (population, generations, seed, islands, max_evaluations, ...).
    """
    from egp.api import evolve

    gene_pool = pool if pool is not None else MemoryGenePool()
    result = evolve(problem, gene_pool=gene_pool, progress=progress, **settings)
    program, validation, count = choose_program(problem, gene_pool, result.best)
    return SearchOutcome(program, result, validation, count, result.history_dicts())


def choose_program(
    problem: TabularRegression, pool: GenePool, best: GeneticCode
) -> tuple[FittedProgram, float | None, int]:
    """The program to return (scaled on the training rows), its validation R² and how many competed."""
    executor = Executor(_PoolStore(pool, {best.signature: best}))
    held_out = problem.validation()
    if held_out is None:
        return _scaled(executor, best, problem.X, problem.y), None, 1
    X_val, y_val = held_out
    candidates = {best.signature: best}
    for gc in pool.best(problem.identity, CANDIDATES):
        if gc.inputs == best.inputs and gc.outputs == best.outputs:
            candidates.setdefault(gc.signature, gc)
    chosen: tuple[float, int, FittedProgram] | None = None
    for gc in candidates.values():
        try:
            fitted = _scaled(executor, gc, problem.X, problem.y)
        except KeyError:  # a sub-GC the pool no longer holds: not a candidate
            continue
        score = r2_score(y_val, fitted.predict(X_val))
        key = (score if math.isfinite(score) else -math.inf, -fitted.codons)
        if chosen is None or key > (chosen[0], chosen[1]):
            chosen = (key[0], key[1], fitted)
    assert chosen is not None  # the run's best is always a candidate
    return chosen[2], chosen[0], len(candidates)


def _scaled(executor: Executor, gc: GeneticCode, X: FloatArray, y: FloatArray) -> FittedProgram:
    """`gc` as a FittedProgram whose scale and offset are fitted on (X, y)."""
    unscaled = FittedProgram(gc.signature.hex(), executor.source(gc), 0.0, 1.0, gc.num_codons)
    output = unscaled.raw(X)
    if not np.all(np.isfinite(output)):
        return FittedProgram(unscaled.signature, unscaled.source, float(np.mean(y)), 0.0, gc.num_codons)
    offset, slope = linear_scale(output, y)
    return FittedProgram(unscaled.signature, unscaled.source, offset, slope, gc.num_codons)
