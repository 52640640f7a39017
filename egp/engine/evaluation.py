"""Scoring GCs on a problem's fitness cases, computing only what is new.

Offspring share most of their sub-GCs with their parents, and GCs are content-addressed, so every sub-GC's
outputs on the problem's cases are cached by (signature, ids of its input columns). Columns themselves are
*value-numbered*: a column is a numpy array for bool/int/float values (vectorisable codons run once over all
cases) or a tuple of per-case values otherwise, and two columns with the same content share one id. So:

- evaluating an offspring walks down only as far as the first sub-GC it shares with an evaluated GC;
- a codon whose input columns are ones it has seen before is not run again, wherever it sits; after a
  neutral change (one that leaves a node's outputs as they were) the nodes above it cost only their wiring;
- the fitness function runs once per distinct output: an offspring whose outputs equal an earlier GC's gets
  that GC's assessment (a fitness function is a function of the outputs).

Large columns (a table's rows, `LARGE_COLUMN_BYTES` and up) are the exception to value numbering inside a
GC: a column a codon computes gets a new id without a content check, and only a GC's *outputs* are numbered
by content, just before assessment. Finding a large column's equal costs a fingerprint pass over it — about
what the codon itself costs — and on a table almost every computed column is new (at 5,625 rows, fewer than
one in twenty had an equal), while the outputs are where equal columns pay (a repeated assessment and
digest cost several codons). Results are the same either way: ids only decide what is reused.

The cache is bounded by a byte budget (the L2 cache of the settings); when full it is flushed, keeping the
input columns. It is a plain dict, not an LRU like the executor's caches (egp/genetic_code/lru.py): its
entries are ids into one shared, value-numbered column list, so evicting an entry would free nothing, and
its lookups are the hot path of scoring.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from egp.engine.heap import LARGE_COLUMN_BYTES, keep_freed_memory
from egp.genetic_code.codon_functions import codon_function
from egp.genetic_code.codon_runtime import quiet_numpy
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.properties import VECTORISABLE, CGraphType
from egp.genetic_code.types import TYPES
from egp.problems.base import Assessment, Problem, safe_assess

_DTYPES: dict[int, Any] = {
    TYPES.uid("float"): np.dtype(np.float64),
    TYPES.uid("int"): np.dtype(np.int64),
    TYPES.uid("bool"): np.dtype(np.bool_),
}
_SELECT = "select"
_NDARRAY = np.ndarray
# Approximate bookkeeping bytes of one cache entry or column beyond its data (dict slot, key tuple, ids).
_ENTRY_BYTES = 120


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
    """Evaluates GCs on one problem's cases with a sub-GC output cache bounded by `budget_bytes`.

    Callers that score many GCs in a row may silence numpy's floating-point warnings themselves (an
    `np.errstate(all="ignore")` block) and set `numpy_quiet` while inside it: entering that block per GC
    costs more than scoring a small GC.
    """

    #: Whether the engine must hand over a whole generation first (see `prefetch`): scoring here is not.
    batched = False

    def __init__(self, problem: Problem, executor: Executor, budget_bytes: int = 1_000_000_000) -> None:
        """An evaluator for `problem` whose GCs are looked up through `executor`'s store."""
        self.problem = problem
        cases = problem.cases()
        self.count = cases.count
        self.budget = budget_bytes
        self.numpy_quiet = False
        self._tally = _Tally()
        self.flushes = 0
        self.evaluations = 0
        self._executor = executor
        # Large columns: keep freed heap memory for reuse (see egp/engine/heap.py).
        if 8 * self.count >= LARGE_COLUMN_BYTES:
            keep_freed_memory(budget_bytes)
        # A size penalty (fitness less so much per codon) applies per GC, after the per-output assessment.
        self._size_penalty = float(problem.size_penalty)
        self._inputs = [
            self._column(col, TYPES.uid(t)) for col, t in zip(cases.inputs, problem.inputs, strict=True)
        ]
        self._reset()

    @property
    def executor(self) -> Executor:
        """The executor whose store GCs are looked up in."""
        return self._executor

    @executor.setter
    def executor(self, executor: Executor) -> None:
        # A warm evaluator handed to a new engine looks sub-GCs up in that engine's store from then on; the
        # cached columns stay valid (they are keyed by content).
        self._executor = executor
        self._walk = self._make_walker()

    def _reset(self) -> None:
        """Forget every cached column and result except the input columns."""
        self._values: list[Any] = []
        self._ids: dict[Any, int] = {}
        self._cache: dict[tuple[bytes, tuple[int, ...]], tuple[int, ...]] = {}
        self._assessed: dict[tuple[int, ...], Score] = {}
        self._tally.bytes = 0
        # Closures over the new dictionaries, not methods: the walker holds them, and the evaluator holds
        # the walker (a bound method there would be a reference cycle keeping the whole cache alive).
        self._intern, self._canonical = _interner(self._values, self._ids, self.count, self._tally)
        self._input_ids = tuple(self._intern(column) for column in self._inputs)
        self._walk = self._make_walker()

    @property
    def hits(self) -> int:
        """Sub-GC lookups answered from the output cache."""
        return self._tally.hits

    @property
    def misses(self) -> int:
        """Sub-GC lookups that had to compute the sub-GC."""
        return self._tally.misses

    def _column(self, value: Any, type_uid: int) -> Any:
        """A full column for one output: an array of the type's dtype, or a tuple of per-case values."""
        return _full_column(value, type_uid, self.count)

    @property
    def hit_rate(self) -> float:
        """Fraction of sub-GC lookups answered from the output cache."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def _output_ids(self, gc: GeneticCode) -> tuple[int, ...]:
        if self._tally.bytes > self.budget:
            self._reset()
            self.flushes += 1
        if self.numpy_quiet:
            return self._walk(gc, self._input_ids)
        with quiet_numpy():
            return self._walk(gc, self._input_ids)

    def outputs(self, gc: GeneticCode) -> list[Any]:
        """The output columns of `gc` on every case (computing only sub-GCs not cached)."""
        ids = self._output_ids(gc)  # first: a flush replaces the value list
        values = self._values
        return [values[i] for i in ids]

    def prefetch(self, gcs: Sequence[GeneticCode]) -> None:
        """Score `gcs` ahead in one batch where scoring is remote; in this process there is nothing to do."""

    def score(self, gc: GeneticCode) -> Score:
        """Assess `gc` on the problem; a GC or fitness function that fails scores 0 with the reason."""
        self.evaluations += 1
        try:
            ids = self._output_ids(gc)
        except Exception as error:  # a GC may fail at run time; that is a failed evaluation, not a crash
            return Score(0.0, False, f"{type(error).__name__}: {error}")
        assessed = self._assessed
        score = assessed.get(ids)
        if score is None:
            # Large output columns are numbered by content only here (see the module docstring).
            canonical = self._canonical
            same = tuple(canonical(i) for i in ids)
            score = assessed.get(same)
            if score is None:
                values = self._values
                columns = [values[i] for i in same]
                if self.numpy_quiet:
                    score = self._assess(columns)
                else:
                    with quiet_numpy():
                        score = self._assess(columns)
                assessed[same] = score
            assessed[ids] = score
            self._tally.bytes += 2 * _ENTRY_BYTES
        if self._size_penalty and score.fitness > 0.0:
            fitness = max(0.0, score.fitness - self._size_penalty * gc.num_codons)
            return Score(fitness, score.solved, score.reason, score.behaviour, score.cases)
        return score

    def _assess(self, columns: list[Any]) -> Score:
        assessment, reason = safe_assess(self.problem, columns, quiet=True)
        cases = None
        if reason is None:
            try:
                cases = self.problem.case_scores(columns)
            except Exception:  # a broken per-case score only disables niching for this GC
                cases = None
        return Score(assessment.fitness, assessment.solved, reason, behaviour_digest(columns), cases)

    def _make_walker(self) -> Callable[[GeneticCode, tuple[int, ...]], tuple[int, ...]]:
        """The recursive, cached evaluator of a GC on input column ids, as a closure over its state.

        This is the hot path of scoring: free variables of a closure are cheaper to reach than attributes,
        and every composite an offspring shares with an evaluated GC is answered by one dictionary lookup.
        """
        cache = self._cache
        values = self._values
        intern = self._intern
        count = self.count
        tally = self._tally
        column = _full_column
        lookup = self._executor._lookup
        store_get = self._executor.store.get
        standard = CGraphType.STANDARD
        select = codon_select()

        def apply_codon(codon: GeneticCode, in_ids: tuple[int, ...]) -> tuple[int, ...]:
            fn = codon_function(codon)[0]
            outputs = codon.outputs
            if codon.properties & VECTORISABLE:
                if len(in_ids) == 2:
                    raw = fn(values[in_ids[0]], values[in_ids[1]])
                elif len(in_ids) == 1:
                    raw = fn(values[in_ids[0]])
                else:
                    raw = fn(*[values[i] for i in in_ids])
            else:
                raw = _map(fn, [values[i] for i in in_ids], len(outputs))
            if len(outputs) == 1:
                return (intern(column(raw, outputs[0], count)),)
            return tuple(intern(column(v, t, count)) for v, t in zip(raw, outputs, strict=True))

        def walk(gc: GeneticCode, in_ids: tuple[int, ...]) -> tuple[int, ...]:
            key = (gc.signature, in_ids)
            found = cache.get(key)
            if found is not None:
                tally.hits += 1
                return found
            tally.misses += 1
            if gc.codon is not None:
                result = apply_codon(gc, in_ids)
                cache[key] = result
                tally.bytes += _ENTRY_BYTES
                return result
            graph = gc.graph
            route_a, route_b, route_o, route_f, route_p = graph.routes
            # Each sub-GC is looked up in the cache here before recursing: in an offspring one of the two
            # is almost always shared with the parent, and a call per shared sub-GC would double the calls.
            signature = gc.gca
            assert signature is not None
            sub_in = route_a(in_ids)
            sub_out = cache.get((signature, sub_in))
            if sub_out is None:
                sub_out = recurse(store_get(signature) or lookup(signature), sub_in)
            else:
                tally.hits += 1
            ids = in_ids + sub_out
            signature = gc.gcb
            if signature is not None:
                sub_in = route_b(ids)
                sub_out = cache.get((signature, sub_in))
                if sub_out is None:
                    sub_out = recurse(store_get(signature) or lookup(signature), sub_in)
                else:
                    tally.hits += 1
                ids += sub_out
            if graph.graph_type is standard:
                result = route_o(ids)
            else:
                condition = values[route_f(ids)[0]]
                out: list[int] = []
                for o, p, type_uid in zip(route_o(ids), route_p(ids), gc.outputs, strict=True):
                    a, b = values[o], values[p]
                    if type(condition) is _NDARRAY and type(a) is _NDARRAY and type(b) is _NDARRAY:
                        value: Any = select(condition, a, b)
                    else:
                        value = tuple(
                            x if c else y for c, x, y in zip(_seq(condition), _seq(a), _seq(b), strict=True)
                        )
                    out.append(intern(column(value, type_uid, count)))
                result = tuple(out)
            cache[key] = result
            tally.bytes += _ENTRY_BYTES
            return result

        # The recursion goes through a weak proxy: a closure naming itself is a reference cycle, which would
        # leave the cache it reaches to the cyclic garbage collector.
        recurse = weakref.proxy(walk)
        return walk


class _Tally:
    """The output cache's counters, kept apart so the cache's closures need not refer to the evaluator."""

    __slots__ = ("bytes", "hits", "misses")

    def __init__(self) -> None:
        """Zero counts."""
        self.hits = 0
        self.misses = 0
        self.bytes = 0


def _full_column(value: Any, type_uid: int, count: int) -> Any:
    """A full column for one output: an array of the type's dtype, or a tuple of per-case values."""
    dtype = _DTYPES.get(type_uid)
    if dtype is not None:
        if type(value) is _NDARRAY and value.dtype is dtype and value.shape == (count,):
            return value  # the common case: a vectorised codon's own result
        array = np.asarray(value, dtype=dtype)
        if array.ndim == 0:
            return np.full(count, array, dtype=dtype)
        return array
    if isinstance(value, tuple) and len(value) == count:
        return value
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    return (value,) * count


def _interner(
    values: list[Any], ids: dict[Any, Any], count: int, tally: _Tally
) -> tuple[Callable[[Any], int], Callable[[int], int]]:
    """Functions numbering columns: `intern` gives a column its id, `canonical` an id its content's id.

    `intern` gives a small column the id every column with its content shares (new content: a new id); its
    key is the column's bytes. A large 8-byte column (a float or int column of a table) gets a new id with
    no content check (see the module docstring). `canonical(i)` is the first id whose column has the
    content of column i (i itself if none): a large column is keyed by a cheap fingerprint — a sample of
    its values and the wrapping sum of its words — and compared in full with the columns of the same
    fingerprint (hashing its whole bytes would cost more than the codon that made it, and keeping those
    bytes as a key would double its memory).
    """
    stride = max(1, count // 64)
    # The content id of each large column `canonical` has numbered (its own id when it was the first).
    numbered: dict[int, int] = {}

    def intern(column: Any) -> int:
        if type(column) is _NDARRAY:
            if column.nbytes >= LARGE_COLUMN_BYTES and column.itemsize == 8:
                values.append(column)
                tally.bytes += column.nbytes + _ENTRY_BYTES
                return len(values) - 1
            key: Any = (column.dtype.char, column.tobytes())
        else:
            # repr tells 1, 1.0 and True apart, which tuple equality would not.
            key = ("t", repr(column))
        found = ids.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        values.append(column)
        index = len(values) - 1
        ids[key] = index
        size = column.nbytes if type(column) is _NDARRAY else 8 * count
        tally.bytes += 2 * size + _ENTRY_BYTES
        return index

    def canonical(index: int) -> int:
        found = numbered.get(index)
        if found is not None:
            return found
        column = values[index]
        if type(column) is not _NDARRAY or column.nbytes < LARGE_COLUMN_BYTES or column.itemsize != 8:
            return index  # numbered by content when it was made
        key = ("L", column.dtype.char, column[::stride].tobytes(), int(_WRAPPING_SUM(column.view(_WORD))))
        bucket = ids.get(key)
        if bucket is None:
            ids[key] = [index]
            found = index
        else:
            content = column.tobytes()
            for other in bucket:
                if values[other].tobytes() == content:
                    found = other
                    break
            else:
                bucket.append(index)
                found = index
        numbered[index] = found
        tally.bytes += _ENTRY_BYTES
        return found

    return intern, canonical


_WORD = np.dtype(np.uint64)
# Unsigned sums wrap silently; that is what a fingerprint wants.
_WRAPPING_SUM = np.add.reduce


def _map(fn: Callable[..., Any], args: list[Any], n_outputs: int) -> Any:
    """Apply a scalar-only codon case by case."""
    columns = [a.tolist() if isinstance(a, np.ndarray) else a for a in args]
    if not columns:
        return fn()
    results = [fn(*row) for row in zip(*columns, strict=True)]
    if n_outputs == 1:
        return tuple(results)
    return tuple(tuple(r[k] for r in results) for k in range(n_outputs))


def behaviour_digest(columns: Sequence[Any]) -> bytes:
    """A short, process-independent digest of output columns (arrays by bytes, other values by repr)."""
    # SHA-256 (truncated): where the CPU has SHA instructions it is about twice as fast as BLAKE2b, which
    # matters when the columns are tables of thousands of rows.
    digest = hashlib.sha256()
    for column in columns:
        if isinstance(column, np.ndarray):
            # The same bytes as `dtype.str + tobytes()`, fed in two parts: a contiguous array is hashed
            # in place (a table's column would otherwise be copied twice, which costs a third of the hash).
            digest.update(column.dtype.str.encode())
            digest.update(column.data if column.flags.c_contiguous else column.tobytes())
        else:
            digest.update(repr(column).encode())
        digest.update(b"\0")
    return digest.digest()[:12]


def _seq(column: Any) -> Sequence[Any]:
    return column.tolist() if isinstance(column, np.ndarray) else column  # type: ignore[no-any-return]


def codon_select() -> Callable[..., Any]:
    """The runtime's select helper (elementwise if-then-else)."""
    from egp.genetic_code.codon_runtime import RUNTIME_NAMES

    return RUNTIME_NAMES[_SELECT]  # type: ignore[return-value]


__all__ = ["Assessment", "CaseEvaluator", "Score"]
