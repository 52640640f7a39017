"""The in-memory Gene Pool (epoch ledger idempotence, queries) and the case evaluator's output cache."""

from __future__ import annotations

import random

import numpy as np
import pytest
from engine_support import FLOAT, Constant, codon

from egp.engine.evaluation import CaseEvaluator
from egp.engine.gene_pool import EpochRecord, GenePool, MemoryGenePool, PgcStats, ProblemStats, finite_or_zero
from egp.genetic_code.assembly import Assembler, Expr, random_expression
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.physics.context import PhysicsContext, Stillborn
from egp.physics.registry import MUTATIONS
from egp.problems import KozaQuartic

PROBLEM = b"p" * 32


def gcs(count: int, seed: int = 0) -> tuple[dict[bytes, GeneticCode], list[GeneticCode]]:
    store: dict[bytes, GeneticCode] = {}
    rng = random.Random(seed)
    functions = [codon(n) for n in ("float_add", "float_mul", "float_sub", "float_psin")]
    made: list[GeneticCode] = []
    assembler = Assembler(store, [FLOAT])
    while len(made) < count:
        gc = assembler.assemble(random_expression(rng, functions, [FLOAT], FLOAT, rng.randint(2, 5)))
        if gc not in made:
            made.append(gc)
    return store, made


def closure_first(gc: GeneticCode, store: dict[bytes, GeneticCode]) -> list[GeneticCode]:
    order: list[GeneticCode] = []

    def visit(node: GeneticCode) -> None:
        for ref in (node.gca, node.gcb):
            if ref is not None and ref in store:
                visit(store[ref])
        if node not in order:
            order.append(node)

    visit(gc)
    return order


def epoch(
    made: list[GeneticCode], store: dict[bytes, GeneticCode], job: str | None, number: int
) -> EpochRecord:
    new = [node for gc in made for node in closure_first(gc, store)]
    return EpochRecord(
        problem=PROBLEM,
        new_gcs=new,
        problem_stats={gc.signature: ProblemStats(0.5, 1, 0.25, 1, 0.5, 0) for gc in made},
        pgc_stats={(codon("pgc_stack").signature, 0): PgcStats(0.75, 1, 0.5, 1)},
        job=job,
        island=0,
        epoch=number,
        members=[gc.signature for gc in made],
    )


def test_memory_pool_implements_the_protocol() -> None:
    """The in-memory pool is a GenePool (runtime-checkable protocol)."""
    assert isinstance(MemoryGenePool(), GenePool)


def test_record_epoch_is_idempotent_per_job_island_and_epoch() -> None:
    """Writing the same (job, island, epoch) twice changes nothing the second time and returns False."""
    store, made = gcs(4)
    pool = MemoryGenePool()
    first = epoch(made, store, "job-1", 0)
    assert pool.record_epoch(first) is True
    snapshot = (
        dict(pool.gcs),
        {s: (v.fitness_total, v.fitness_count) for s, v in pool.stats[PROBLEM].items()},
        pool.pgc[0][codon("pgc_stack").signature].fitness_count,
    )
    assert pool.record_epoch(epoch(made, store, "job-1", 0)) is False
    assert (
        dict(pool.gcs),
        {s: (v.fitness_total, v.fitness_count) for s, v in pool.stats[PROBLEM].items()},
        pool.pgc[0][codon("pgc_stack").signature].fitness_count,
    ) == snapshot
    # Another epoch, or the same epoch of another job, is applied and adds up.
    assert pool.record_epoch(epoch(made, store, "job-1", 1)) is True
    assert pool.record_epoch(epoch(made, store, "job-2", 0)) is True
    stats = pool.problem_stats(PROBLEM, [made[0].signature])[made[0].signature]
    assert (stats.fitness_total, stats.fitness_count) == (1.5, 3)
    assert pool.pgc_stats(0, [codon("pgc_stack").signature])[codon("pgc_stack").signature].fitness_count == 3
    assert pool.members("job-1", 0) == [gc.signature for gc in made]


def test_put_many_stores_each_gc_once() -> None:
    """put_many counts only new GCs; get_many also answers shipped codons."""
    store, made = gcs(3, seed=1)
    pool = MemoryGenePool()
    everything = [node for gc in made for node in closure_first(gc, store)]
    distinct = len({gc.signature for gc in everything})
    assert pool.put_many(everything) == distinct
    assert pool.put_many(everything) == 0
    add = codon("float_add")
    found = pool.get_many([made[0].signature, add.signature, b"\0" * 32])
    assert set(found) == {made[0].signature, add.signature}


def test_queries_best_weighted_and_by_interface() -> None:
    """best ranks by fitness (ties by signature); select_weighted follows survivability; match_interface is
    exact and seeded."""
    store, made = gcs(5, seed=2)
    pool = MemoryGenePool()
    record = epoch(made, store, "job", 0)
    for rank, gc in enumerate(made):
        record.problem_stats[gc.signature] = ProblemStats(0.1 * rank, 1, 0.0, 0, 1.0 if rank == 4 else 0.0, 0)
    record.problem_stats[b"\1" * 32] = ProblemStats(1.0, 1, 0.0, 0, 0.0, 0)  # statistics of a GC not stored
    pool.record_epoch(record)
    assert pool.best(PROBLEM, 2) == [made[4], made[3]]
    draws = pool.select_weighted(PROBLEM, 50, seed=1)
    assert len(draws) == 50 and all(gc == made[4] for gc in draws)
    assert pool.select_weighted(PROBLEM, 3, seed=9) == pool.select_weighted(PROBLEM, 3, seed=9)
    matched = pool.match_interface([FLOAT], [FLOAT], 100, seed=3)
    assert set(made) <= set(matched)
    assert pool.match_interface([FLOAT], [FLOAT], 100, seed=3) == matched
    assert pool.match_interface([FLOAT, FLOAT], [FLOAT], 100, seed=3) == []
    assert finite_or_zero(float("nan")) == 0.0 and finite_or_zero(0.25) == 0.25


def parent_and_child(seed: int) -> tuple[dict[bytes, GeneticCode], GeneticCode, GeneticCode]:
    store, (parent,) = gcs(1, seed)
    functions = [codon(n) for n in ("float_add", "float_mul", "float_sub", "float_psin")]
    for attempt in range(50):
        ctx = PhysicsContext(random.Random(attempt), store, functions, [], pgc=b"q" * 32)
        try:
            return store, parent, MUTATIONS["stack"](parent, ctx)
        except Stillborn:
            continue
    raise AssertionError("no child")


def test_output_cache_hits_on_a_parent_child_pair_and_matches_the_executor() -> None:
    """Scoring a child after its parent reuses the shared sub-GCs' columns (hit rate > 0); every output equals
    a plain Executor evaluation."""
    problem = KozaQuartic()
    store, parent, child = parent_and_child(4)
    executor = Executor(store)
    evaluator = CaseEvaluator(problem, executor)
    x = problem.cases().inputs[0]
    parent_out = evaluator.outputs(parent)
    assert evaluator.hits == 0 and evaluator.misses > 0
    misses = evaluator.misses
    child_out = evaluator.outputs(child)
    assert evaluator.hits > 0 and evaluator.hit_rate > 0.0
    assert evaluator.misses - misses < child.num_codes  # not every node of the child was computed again
    for gc, got in ((parent, parent_out), (child, child_out)):
        expected = np.broadcast_to(np.asarray(executor.evaluate(gc, [x])[0], dtype=np.float64), x.shape)
        np.testing.assert_allclose(got[0], expected)
    again = evaluator.outputs(parent)
    np.testing.assert_allclose(again[0], parent_out[0])
    score = evaluator.score(child)
    assert 0.0 <= score.fitness <= 1.0 and score.reason is None and evaluator.evaluations == 1


def test_the_budget_flushes_the_cache_and_results_stay_right() -> None:
    """A tiny byte budget flushes the cache before each evaluation that would exceed it; outputs agree."""
    problem = KozaQuartic()
    store, parent, child = parent_and_child(6)
    roomy = CaseEvaluator(problem, Executor(store))
    tight = CaseEvaluator(problem, Executor(store), budget_bytes=1)
    for gc in (parent, child, parent, child):
        np.testing.assert_allclose(tight.outputs(gc)[0], roomy.outputs(gc)[0])
    assert tight.flushes >= 3 and roomy.flushes == 0
    assert roomy.hit_rate > tight.hit_rate


def test_a_gc_that_fails_at_run_time_scores_zero_with_a_reason() -> None:
    """A run-time error inside a GC is a failed evaluation, not a crash."""
    problem = Constant()
    store: dict[bytes, GeneticCode] = {}
    gc = Assembler(store, [FLOAT]).assemble(
        Expr(
            codon("float_add"),
            (Expr(codon("float_mul"), (Expr(None, (), 0), Expr(None, (), 0))), Expr(codon("lit_float_1"))),
        )
    )  # x*x + 1
    evaluator = CaseEvaluator(problem, Executor({}))  # an empty store: the sub-GC lookup fails
    score = evaluator.score(gc)
    assert score.fitness == 0.0 and not score.solved and score.reason and "KeyError" in score.reason
    good = CaseEvaluator(problem, Executor(store)).score(gc)
    assert good.reason is None
    # x = 0, 1, 2, 3 → y = 1, 2, 5, 10 → |y - 1| = 0, 1, 4, 9 → fitness 1 / (1 + 3.5).
    assert good.fitness == pytest.approx(1.0 / 4.5)
