"""The output cache never changes a result: cached scoring equals direct evaluation on small and large tables.

Lineages of mutated GCs (what an island scores: children share most of their sub-GCs with their parents)
are scored three ways — one warm evaluator for the whole lineage, one whose tiny byte budget flushes before
every GC, and a fresh evaluator per GC — and every output column is checked against the executor's plain
evaluation. Tables of 4,200 rows take the large-column path (new ids as columns are made, outputs numbered
by content before assessment); tables of 30 rows the small one (every column numbered by its bytes).
"""

from __future__ import annotations

import random

import numpy as np
from engine_support import FLOAT, codon
from hypothesis import given, settings
from hypothesis import strategies as st

from egp.engine.evaluation import CaseEvaluator, Score
from egp.genetic_code.assembly import Assembler, Expr, random_expression
from egp.genetic_code.codon_runtime import quiet_numpy
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.physics.context import PhysicsContext, Stillborn
from egp.physics.registry import MUTATIONS
from egp.problems.tabular import TabularRegression

FUNCTIONS = ("float_add", "float_sub", "float_mul", "float_pdiv")
LITERALS = ("lit_float_1", "lit_float_0_5")
# Mutations that keep most of the parent (the cache's case) and ones that rebuild much of it.
KINDS = ("stack", "insert_above_a", "insert_above_b", "point_mutation", "perturb_literal", "delete", "rewire")
_PROBLEMS: dict[int, TabularRegression] = {}


def table(rows: int) -> TabularRegression:
    """A two-feature table with a few rows that repeat (equal columns arise: x0 - x0, x1 / x1, ...)."""
    if rows not in _PROBLEMS:
        rng = np.random.default_rng(rows)
        features = rng.uniform(-2.0, 2.0, (rows, 2))
        features[:3, 1] = 0.0  # zero divisors: the protected division's patched rows
        _PROBLEMS[rows] = TabularRegression(
            features, features[:, 0] * features[:, 1] + features[:, 0], function_set=FUNCTIONS
        )
    return _PROBLEMS[rows]


def lineage(seed: int, length: int) -> tuple[dict[bytes, GeneticCode], list[GeneticCode]]:
    """A random two-input program and `length` descendants, each a mutation of an earlier one."""
    rng = random.Random(seed)
    store: dict[bytes, GeneticCode] = {}
    functions = [codon(n) for n in FUNCTIONS]
    literals = [codon(n) for n in LITERALS]
    assembler = Assembler(store, [FLOAT, FLOAT])
    made = [
        assembler.assemble(
            random_expression(rng, functions, [FLOAT, FLOAT], FLOAT, rng.randint(2, 6), terminals=literals)
        )
    ]
    tries = 0
    while len(made) <= length and tries < 20 * length:
        tries += 1
        parent = made[rng.randrange(len(made))] if rng.random() < 0.3 else made[-1]
        ctx = PhysicsContext(rng, store, [*functions, *literals], [], pgc=b"q" * 32, max_codons=40)
        try:
            child = MUTATIONS[rng.choice(KINDS)](parent, ctx)
        except Stillborn:
            continue
        for gc in ctx.new_gcs:
            store.setdefault(gc.signature, gc)
        store.setdefault(child.signature, child)
        made.append(child)
    return store, made


def key(score: Score) -> tuple[object, ...]:
    """Everything a score says, comparable (per-case shares as bytes)."""
    cases = None if score.cases is None else np.asarray(score.cases).tobytes()
    return (score.fitness, score.solved, score.reason, score.behaviour, cases)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), rows=st.sampled_from([30, 4200]), length=st.integers(1, 12))
def test_cached_scoring_equals_direct_evaluation(seed: int, rows: int, length: int) -> None:
    """Warm, flushing and fresh evaluators give every GC of a lineage the same outputs and score, and the
    outputs are exactly the executor's plain evaluation of the GC."""
    problem = table(rows)
    store, made = lineage(seed, length)
    executor = Executor(store)
    warm = CaseEvaluator(problem, executor)
    flushing = CaseEvaluator(problem, executor, budget_bytes=1)
    columns = list(problem.cases().inputs)
    for gc in [*made, *reversed(made)]:  # scored twice: the second time from the cache
        with quiet_numpy():
            direct = np.broadcast_to(np.asarray(executor.evaluate(gc, columns)[0], dtype=np.float64), (rows,))
        for evaluator in (warm, flushing, CaseEvaluator(problem, executor)):
            np.testing.assert_array_equal(evaluator.outputs(gc)[0], direct)
        scores = [key(e.score(gc)) for e in (warm, flushing, CaseEvaluator(problem, executor))]
        assert scores[0] == scores[1] == scores[2]
        assert scores[0][:3] == key(CaseEvaluator(problem, executor).score(gc))[:3]
    assert flushing.flushes >= len(made)


def test_equal_large_outputs_share_one_assessment() -> None:
    """On a large table, GCs whose outputs are equal but computed apart ((x0 + x1)·x0 and (x1 + x0)·x0) are
    assessed once: the second gets the first's score object, though its column got an id of its own."""
    problem = table(4200)
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [FLOAT, FLOAT])
    add, mul = codon("float_add"), codon("float_mul")
    x0, x1 = Expr(None, (), 0), Expr(None, (), 1)
    first = assembler.assemble(Expr(mul, (Expr(add, (x0, x1)), x0)))
    second = assembler.assemble(Expr(mul, (Expr(add, (x1, x0)), x0)))
    assert first.signature != second.signature
    evaluator = CaseEvaluator(problem, Executor(store))
    one = evaluator.score(first)
    two = evaluator.score(second)
    assert two is one
    out_one, out_two = evaluator.outputs(first)[0], evaluator.outputs(second)[0]
    assert out_one is not out_two and np.array_equal(out_one, out_two)
