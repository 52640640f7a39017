"""What makes the engine fast, and must not change what it computes: value-numbered outputs (a codon on seen
columns is not run again, one assessment per distinct output), storage of population members only, bounded
neutral drift and the problems' size preferences."""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import pytest
from engine_support import FLOAT, codon, engine
from hypothesis import given
from hypothesis import strategies as st

from egp.engine.config import EvolutionConfig, EvolutionError
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.gene_pool import EpochRecord
from egp.engine.lineage import store_new_members
from egp.engine.pgc_pool import pick
from egp.engine.population import Island, epoch_rng
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


def test_an_epoch_stores_its_members_best_and_their_lineage_only() -> None:
    """At a flush the Gene Pool gets the members, the best GC, and what they are made of or descend from;
    GCs that were in the population only between flushes (and other offspring) are not stored, and carry
    no statistics; every stored member carries its first statistics exactly once."""
    e = engine(population=16, migrants=0)
    island = Island(0, e.initial_population(0))
    island.record = EpochRecord(problem=e.problem_id, island=0, epoch=0)
    e.record_members(island)
    e.flush(island)
    before = set(e.persisted)
    record = island.record = EpochRecord(problem=e.problem_id, island=0, epoch=1)
    rng = epoch_rng(3, 0, 1)
    lived: set[bytes] = set()
    children: set[bytes] = set()
    for _ in range(6):
        bred = list(e.breed(island, rng))
        children |= {o.child.signature for o in bred if o.child is not None}
        e.integrate(island, bred, rng)
        lived |= set(island.members)
    assert not {gc.signature for gc in record.new_gcs} & lived, "members are written at the flush"
    best = e.best_signature()
    assert best is not None
    e.flush(island)
    stored = {gc.signature for gc in record.new_gcs}
    # What the members and the best reach through sub-GCs and ancestors, among this epoch's new GCs.
    reachable: set[bytes] = set()
    stack = [*island.members, best, *(s for layer in e.pgcs.pool for s in layer)]
    while stack:
        signature = stack.pop()
        if signature in reachable or signature in before:
            continue
        reachable.add(signature)
        gc = e.lookup(signature)
        links = (gc.gca, gc.gcb, gc.pgc if gc.is_pgc else None, gc.ancestora, gc.ancestorb)
        stack.extend(s for s in links if s is not None)
    assert stored <= reachable
    assert set(island.members) | {best} <= e.persisted
    transient = lived - reachable - before
    assert transient, "every member lived to the flush: the test shows nothing"
    assert not transient & stored and not (children - lived) & stored
    assert set(record.problem_stats) <= e.persisted
    for signature in (lived | {best}) & stored:
        assert record.problem_stats[signature].fitness_count == 1
    for gc in record.new_gcs:  # unbroken lineage: every ancestor is stored
        assert all(a in e.persisted for a in (gc.ancestora, gc.ancestorb) if a is not None)
    assert e.pool.get_many([best])  # the best GC is in the Gene Pool


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


@pytest.mark.parametrize(
    ("growth", "first"), [(0, "small"), (2, "small"), (None, "small"), (8, "large"), (1000, "large")]
)
def test_neutral_drift_grows_programs_only_by_drift_growth(growth: int | None, first: str) -> None:
    """An offspring behaving like a kept GC takes its place only if at most drift_growth codons larger
    (None: koza-quartic's own preference, 0)."""
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
    assert (koza.max_codons, koza.initial_max_codons, koza.drift_growth) == (64, 8, 0)
    assert Engine(Multiplexer6(), EvolutionConfig(population=4, drift_growth=3)).drift_growth == 3
    mine = Engine(EvenParity3(), EvolutionConfig(population=4, max_codons=40, initial_max_codons=5))
    assert (mine.max_codons, mine.initial_max_codons) == (40, 5)
    assert all(mine.lookup(s).num_codons <= 5 for s in mine.initial_population(0))


def test_a_stored_gc_is_immutable_andpickles() -> None:
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


def test_the_best_gc_of_another_island_gets_its_first_statistics_once() -> None:
    """The best GC joined island 1 and left it: island 0's flush stores it (the best is always stored), and
    its first statistics, recorded by island 1, reach the Gene Pool once."""
    e = engine(population=4, migrants=0, islands=2)
    small = e.lookup(e.initial_population(0)[0])
    best = Assembler(e.store, [FLOAT]).assemble(_expr("float_add", _expr("float_mul", X, X), X))
    e.scores[small.signature] = Score(0.2, False)
    e.scores[best.signature] = Score(0.9, False)
    e.survivability[small.signature] = 0.2
    e.survivability[best.signature] = 0.9
    islands = [Island(k, [small.signature]) for k in range(2)]
    for island in islands:
        island.record = EpochRecord(problem=e.problem_id, island=island.index, epoch=0)
    e.persisted.add(small.signature)
    # `best` entered island 1's population (first statistics in its record), then left it.
    islands[1].members = [small.signature, best.signature]
    store_new_members(e, islands[1])
    islands[1].members = [small.signature]
    assert e.best_signature() == best.signature
    for island in islands:
        e.flush(island)
    stats = e.pool.problem_stats(e.problem_id, [best.signature])
    assert stats[best.signature].fitness_count == 1
    assert e.pool.get_many([best.signature])


def test_a_run_leaves_no_reference_cycles_and_nothing_frozen() -> None:
    """The engine pauses the cyclic garbage collector and freezes what each generation keeps, so it must not
    depend on it: a finished run's objects are all freed by reference counting (the walkers and expression
    makers recurse through weak proxies), and no object is left frozen once the run's epochs are flushed."""
    import gc

    from egp.engine.evolve import evolve_problem
    from egp.engine.gene_pool import MemoryGenePool

    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        config = EvolutionConfig(
            seed=5, population=60, generations=12, epoch_generations=4, islands=2, stop_when_solved=False
        )
        result = evolve_problem(KozaQuartic(), config, MemoryGenePool())
        assert result.generations == 12  # every epoch flushed, solved or not
        assert gc.get_freeze_count() == 0
        del result
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


@given(
    weights=st.lists(st.floats(min_value=1e-6, max_value=10.0), min_size=1, max_size=25),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_the_pgcpick_draws_what_random_choices_draws(weights: list[float], seed: int) -> None:
    """pGC selection picks with one rng.random() and a bisection: what random.choices picks, same draws."""
    population = [bytes([i]) for i in range(len(weights))]
    cumulative = list(accumulate(weights))
    ours, theirs = random.Random(seed), random.Random(seed)
    for _ in range(5):
        assert (
            pick(population, cumulative, ours.random())
            == theirs.choices(population, cum_weights=cumulative)[0]
        )
    assert ours.random() == theirs.random()
