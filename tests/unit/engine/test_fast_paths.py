"""What makes the engine fast, and must not change what it computes: value-numbered outputs (a codon on seen
columns is not run again, one assessment per distinct output), storage of population members only, bounded
neutral drift and the problems' size preferences."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import pytest
from engine_support import FLOAT, codon, engine

from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.evolution import Engine, EvolutionConfig, EvolutionError, Island, epoch_rng
from egp.engine.gene_pool import EpochRecord
from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.problems import Assessment, EvenParity3, KozaQuartic, Multiplexer6

X = Expr(None, (), 0)


def _expr(name: str, *args: Expr) -> Expr:
    return Expr(codon(name), tuple(args))


class CountingKoza(KozaQuartic):
    """Koza-quartic counting how often its fitness function runs."""

    name = "counting-koza"
    calls = 0

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """The normal assessment, counted."""
        type(self).calls += 1
        return super().assess(outputs)


def test_equal_outputs_share_codon_runs_and_one_assessment() -> None:
    """x*x + x and x + x*x differ as programs but not in value: the second reuses the x*x column and the
    first one's assessment, and scores the same."""
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [FLOAT])
    square = _expr("float_mul", X, X)
    first = assembler.assemble(_expr("float_add", square, X))
    second = assembler.assemble(_expr("float_add", X, square))
    assert first.signature != second.signature
    CountingKoza.calls = 0
    evaluator = CaseEvaluator(CountingKoza(), Executor(store))
    one = evaluator.score(first)
    misses = evaluator.misses
    two = evaluator.score(second)
    assert CountingKoza.calls == 1
    assert (two.fitness, two.behaviour) == (one.fitness, one.behaviour)
    assert evaluator.hits > 0  # the x*x column was found, not computed again
    assert evaluator.misses - misses < second.num_codes


def test_only_offspring_that_enter_the_population_are_stored() -> None:
    """After generations, the epoch's stored GCs are members' closures and pGCs; other offspring are not."""
    e = engine(population=16, migrants=0)
    island = Island(0, e.initial_population(0))
    island.record = EpochRecord(problem=e.problem_id, island=0, epoch=0)
    e.record_members(island)
    rng = epoch_rng(3, 0, 0)
    lived = set(island.members)
    children: set[bytes] = set()
    for _ in range(4):
        bred = e.breed(island, rng)
        children |= {o.child.signature for o in bred if o.child is not None}
        e.integrate(island, bred, rng)
        lived |= set(island.members)
    stored = {gc.signature for gc in island.record.new_gcs}
    reachable: set[bytes] = set()
    pgcs = {s for layer in e.pgc_pool for s in layer}
    stack = [*lived, *pgcs]
    while stack:
        signature = stack.pop()
        if signature in reachable:
            continue
        reachable.add(signature)
        gc = e.gc(signature)
        stack.extend(s for s in (gc.gca, gc.gcb, gc.pgc if gc.is_pgc else None) if s is not None)
    assert stored <= reachable
    assert children - lived, "every offspring survived: the test shows nothing"
    assert not (children - lived) & stored
    # Every stored member carries its first statistics exactly once.
    for signature in lived & stored:
        assert island.record.problem_stats[signature].fitness_count == 1


def _drift_engine(growth: int | None) -> tuple[Engine, GeneticCode, GeneticCode]:
    e = engine(population=4, drift_growth=growth)
    assembler = Assembler(e.store, [FLOAT])
    small = assembler.assemble(_expr("float_add", _expr("float_mul", X, X), X))
    zero = _expr("float_sub", X, X)
    large = assembler.assemble(
        _expr("float_add", _expr("float_add", _expr("float_mul", X, X), zero), _expr("float_add", X, zero))
    )
    assert large.num_codons > small.num_codons + 2
    for gc in (small, large):
        e.scores[gc.signature] = Score(0.5, False, None, b"same behaviour")
        e.survivability[gc.signature] = 0.5
    return e, small, large


@pytest.mark.parametrize(("growth", "first"), [(0, "small"), (2, "small"), (None, "large"), (8, "large")])
def test_neutral_drift_grows_programs_only_by_drift_growth(growth: int | None, first: str) -> None:
    """An offspring behaving like a kept GC takes its place only if at most drift_growth codons larger."""
    e, small, large = _drift_engine(growth)
    island = Island(0, [small.signature])
    e.select_survivors(island, [large.signature])
    expected = small if first == "small" else large
    assert island.members[0] == expected.signature


def test_size_limits_come_from_the_problem_unless_set() -> None:
    """Boolean problems allow larger programs, regression starts small; a run's own setting wins."""
    parity = Engine(EvenParity3(), EvolutionConfig(population=4))
    assert (parity.max_codons, parity.initial_max_codons, parity.drift_growth) == (192, 96, None)
    mux = Engine(Multiplexer6(), EvolutionConfig(population=4))
    assert (mux.max_codons, mux.initial_max_codons, mux.drift_growth) == (128, 64, 0)
    koza = Engine(KozaQuartic(), EvolutionConfig(population=4))
    assert (koza.max_codons, koza.initial_max_codons, koza.drift_growth) == (64, 8, None)
    assert Engine(Multiplexer6(), EvolutionConfig(population=4, drift_growth=3)).drift_growth == 3
    mine = Engine(EvenParity3(), EvolutionConfig(population=4, max_codons=40, initial_max_codons=5))
    assert (mine.max_codons, mine.initial_max_codons) == (40, 5)
    assert all(mine.gc(s).num_codons <= 5 for s in mine.initial_population(0))


def test_a_stored_gc_is_immutable_and_pickles() -> None:
    """Writes to a GeneticCode raise; a pickled GC comes back equal, with the same graph."""
    gc = codon("float_add")
    with pytest.raises(AttributeError, match="immutable"):
        gc.signature = bytes(32)  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del gc.gca
    again = pickle.loads(pickle.dumps(gc))
    assert again == gc and again.graph == gc.graph and again.codon == gc.codon


def test_a_negative_drift_growth_is_refused() -> None:
    """drift_growth below 0 is named in one error before the run starts."""
    with pytest.raises(EvolutionError, match="drift_growth must be at least 0"):
        Engine(KozaQuartic(), EvolutionConfig(population=4, drift_growth=-1))
