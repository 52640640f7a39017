"""Scoring GCs on a problem's fitness cases, computing only what is new.

Offspring share most of their sub-GCs with their parents, and GCs are content-addressed, so every sub-GC's
outputs on the problem's cases are cached by (signature, ids of its input columns). A column is computed
once: a numpy array for bool/int/float values (vectorisable codons run once over all cases), a tuple of
per-case values otherwise (other codons are mapped over the cases). Evaluating an offspring therefore walks
down only as far as the first sub-GC it shares with an evaluated GC and computes just the new nodes. The
cache is bounded by a byte budget (the L2 cache of the settings); when full it is flushed, keeping the input
columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from egp.genetic_code.codon_runtime import quiet_numpy
from egp.genetic_code.execution import Executor, codon_function
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import PLAN_A, PLAN_B, PLAN_F, PLAN_O, PLAN_P
from egp.genetic_code.properties import VECTORISABLE, CGraphType
from egp.genetic_code.types import TYPES
from egp.problems.base import Assessment, Problem, safe_assess

_DTYPES: dict[int, Any] = {
    TYPES.uid("float"): np.float64,
    TYPES.uid("int"): np.int64,
    TYPES.uid("bool"): np.bool_,
}
_SELECT = "select"


@dataclass(frozen=True, slots=True)
class Score:
    """A GC's result on a problem: its assessment and, when it failed, why."""

    fitness: float
    solved: bool
    reason: str | None = None
    # A digest of the outputs on every case: GCs with equal behaviour are neutral variants of each other.
    behaviour: bytes = b""
    # Each test case's share of the fitness, when the problem defines it (niche survivability uses it).
    cases: Any = None


class CaseEvaluator:
    """Evaluates GCs on one problem's cases with a sub-GC output cache bounded by `budget_bytes`."""

    def __init__(self, problem: Problem, executor: Executor, budget_bytes: int = 1_000_000_000) -> None:
        """An evaluator for `problem` whose GCs are looked up through `executor`'s store."""
        self.problem = problem
        self.executor = executor
        cases = problem.cases()
        self.count = cases.count
        self.budget = budget_bytes
        self._inputs = [
            self._column(col, TYPES.uid(t)) for col, t in zip(cases.inputs, problem.inputs, strict=True)
        ]
        self._reset()
        self.hits = 0
        self.misses = 0
        self.flushes = 0
        self.evaluations = 0

    def _reset(self) -> None:
        self._values: list[Any] = list(self._inputs)
        self._cache: dict[tuple[bytes, tuple[int, ...]], tuple[int, ...]] = {}
        self._bytes = 0
        self._input_ids = tuple(range(len(self._inputs)))

    def _column(self, value: Any, type_uid: int) -> Any:
        """A full column for one output: an array of the type's dtype, or a tuple of per-case values."""
        dtype = _DTYPES.get(type_uid)
        count = self.count
        if dtype is not None:
            array = np.asarray(value, dtype=dtype) if not isinstance(value, np.ndarray) else value
            if array.ndim == 0:
                return np.full(count, array, dtype=dtype)
            if array.dtype != dtype:
                return array.astype(dtype)
            return array
        if isinstance(value, tuple) and len(value) == count:
            return value
        if isinstance(value, np.ndarray):
            return tuple(value.tolist())
        return (value,) * count

    def _store(self, value: Any) -> int:
        self._values.append(value)
        self._bytes += (value.nbytes if isinstance(value, np.ndarray) else 8 * self.count) + 120
        return len(self._values) - 1

    @property
    def hit_rate(self) -> float:
        """Fraction of sub-GC lookups answered from the output cache."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def outputs(self, gc: GeneticCode) -> list[Any]:
        """The output columns of `gc` on every case (computing only sub-GCs not cached)."""
        if self._bytes > self.budget:
            self._reset()
            self.flushes += 1
        with quiet_numpy():
            ids = self._evaluate(gc, self._input_ids)
        return [self._values[i] for i in ids]

    def prefetch(self, gcs: Sequence[GeneticCode]) -> None:
        """Score `gcs` ahead in one batch where scoring is remote; in this process there is nothing to do."""

    def score(self, gc: GeneticCode) -> Score:
        """Assess `gc` on the problem; a GC or fitness function that fails scores 0 with the reason."""
        self.evaluations += 1
        try:
            columns = self.outputs(gc)
        except Exception as error:  # a GC may fail at run time; that is a failed evaluation, not a crash
            return Score(0.0, False, f"{type(error).__name__}: {error}")
        assessment, reason = safe_assess(self.problem, columns)
        cases = None
        if reason is None:
            try:
                cases = self.problem.case_scores(columns)
            except Exception:  # a broken per-case score only disables niching for this GC
                cases = None
        return Score(assessment.fitness, assessment.solved, reason, behaviour_digest(columns), cases)

    def _evaluate(self, gc: GeneticCode, in_ids: tuple[int, ...]) -> tuple[int, ...]:
        key = (gc.signature, in_ids)
        cached = self._cache.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        if gc.codon is not None:
            result = self._apply_codon(gc, in_ids)
        else:
            result = self._evaluate_composite(gc, in_ids)
        self._cache[key] = result
        return result

    def _apply_codon(self, codon: GeneticCode, in_ids: tuple[int, ...]) -> tuple[int, ...]:
        fn = codon_function(codon)[0]
        args = [self._values[i] for i in in_ids]
        vectorised = bool(codon.properties & VECTORISABLE)
        raw = fn(*args) if vectorised else self._map(fn, args, len(codon.outputs))
        if len(codon.outputs) == 1:
            return (self._store(self._column(raw, codon.outputs[0])),)
        return tuple(self._store(self._column(v, t)) for v, t in zip(raw, codon.outputs, strict=True))

    def _map(self, fn: Callable[..., Any], args: list[Any], n_outputs: int) -> Any:
        """Apply a scalar-only codon case by case."""
        columns = [a.tolist() if isinstance(a, np.ndarray) else a for a in args]
        if not columns:
            return fn()
        results = [fn(*row) for row in zip(*columns, strict=True)]
        if n_outputs == 1:
            return tuple(results)
        return tuple(tuple(r[k] for r in results) for k in range(n_outputs))

    def _evaluate_composite(self, gc: GeneticCode, in_ids: tuple[int, ...]) -> tuple[int, ...]:
        graph = gc.graph
        plan = graph.plan
        lookup = self.executor._lookup
        ids = list(in_ids)
        assert gc.gca is not None
        ids += self._evaluate(lookup(gc.gca), tuple(ids[i] for i in plan[PLAN_A]))
        if gc.gcb is not None:
            ids += self._evaluate(lookup(gc.gcb), tuple(ids[i] for i in plan[PLAN_B]))
        if graph.graph_type is CGraphType.STANDARD:
            return tuple(ids[i] for i in plan[PLAN_O])
        condition = self._values[ids[plan[PLAN_F][0]]]
        select = codon_select()
        out: list[int] = []
        for o, p, type_uid in zip(plan[PLAN_O], plan[PLAN_P], gc.outputs, strict=True):
            a, b = self._values[ids[o]], self._values[ids[p]]
            if isinstance(condition, np.ndarray) and isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
                value: Any = select(condition, a, b)
            else:
                value = tuple(
                    x if c else y for c, x, y in zip(_seq(condition), _seq(a), _seq(b), strict=True)
                )
            out.append(self._store(self._column(value, type_uid)))
        return tuple(out)


def behaviour_digest(columns: Sequence[Any]) -> bytes:
    """A short, process-independent digest of output columns (arrays by bytes, other values by repr)."""
    digest = hashlib.blake2b(digest_size=12)
    for column in columns:
        if isinstance(column, np.ndarray):
            digest.update(column.dtype.str.encode() + column.tobytes())
        else:
            digest.update(repr(column).encode())
        digest.update(b"\0")
    return digest.digest()


def _seq(column: Any) -> Sequence[Any]:
    return column.tolist() if isinstance(column, np.ndarray) else column  # type: ignore[no-any-return]


def codon_select() -> Callable[..., Any]:
    """The runtime's select helper (elementwise if-then-else)."""
    from egp.genetic_code.codon_runtime import RUNTIME_NAMES

    return RUNTIME_NAMES[_SELECT]  # type: ignore[return-value]


__all__ = ["Assessment", "CaseEvaluator", "Score"]
