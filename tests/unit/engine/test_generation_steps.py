"""A generation's public steps (breed → score anywhere → integrate) and the survivor rule (one GC per
behaviour first; an offspring that behaves like its parent takes the parent's place)."""

from __future__ import annotations

import random
from typing import Any

from engine_support import engine, record, small_config

from egp.engine.engine import Engine
from egp.engine.evaluation import Score
from egp.engine.gene_pool import EpochRecord
from egp.engine.population import Island, epoch_rng
from egp.genetic_code.gc import GeneticCode
from egp.problems import EvenParity3


def started(e: Engine) -> Island:
    """Island 0 with its initial population and an open epoch record."""
    island = Island(0, e.initial_population(0))
    island.record = EpochRecord(problem=e.problem_id, island=0, epoch=0)
    return island


def test_breed_neither_scores_nor_credits() -> None:
    """breed makes population-many offspring and touches no evaluation count or pGC statistic."""
    e = engine(population=16)
    island = started(e)
    evaluations, stats = e.evaluations, [dict(layer) for layer in e.pgcs.stats]
    bred = list(e.breed(island, epoch_rng(3, 0, 0)))
    assert len(bred) == 16
    assert e.evaluations == evaluations and e.offspring == 0
    assert [dict(layer) for layer in e.pgcs.stats] == stats
    assert all(o.parent in island.members for o in bred)


def test_unscored_lists_each_new_offspring_once() -> None:
    """unscored: the distinct live children without a score, in breeding order; scored ones are left out."""
    e = engine(population=16)
    island = started(e)
    bred = list(e.breed(island, epoch_rng(3, 0, 0)))
    new = e.unscored(bred)
    children = [o.child.signature for o in bred if o.child is not None]
    assert [gc.signature for gc in new] == list(dict.fromkeys(children))
    e.score(new[0])
    assert new[0] not in e.unscored(bred)


def test_lazy_breeding_and_whole_generations_evolve_alike() -> None:
    """In this process offspring are bred as integrate asks for them (interleaved with scoring, pGC credit
    and pGC evolution); a batched evaluator gets each generation whole first. Over many generations with
    meta-evolution both leave the same islands, counts, statistics and effective pGCs."""
    lazy, whole = engine(population=24, pgc_evolve_every=2), engine(population=24, pgc_evolve_every=2)
    island_lazy, island_whole = started(lazy), started(whole)
    for generation in range(12):
        lazy.generation(island_lazy, epoch_rng(7, 0, generation))
        rng = epoch_rng(7, 0, generation)
        with whole.generation_scope():
            whole.integrate(island_whole, list(whole.breed(island_whole, rng)), rng)
    assert island_lazy.members == island_whole.members
    assert (lazy.evaluations, lazy.offspring, lazy.stillborn, lazy.pgcs_evolved) == (
        whole.evaluations,
        whole.offspring,
        whole.stillborn,
        whole.pgcs_evolved,
    )
    assert lazy.pgcs_evolved > 0
    assert lazy.pgcs.pool == whole.pgcs.pool
    assert lazy.pgcs.stats == whole.pgcs.stats
    assert lazy.effective == whole.effective and lazy.effective


def test_a_run_that_stops_mid_generation_breeds_no_offspring_it_does_not_take_in() -> None:
    """Lazy breeding: once the evaluation budget is spent, the rest of the generation is never bred."""
    e = engine(population=40, max_evaluations=45)
    island = started(e)
    bred = 0
    select_pgc = e.select_pgc

    def counting(target: GeneticCode, layer: int, *args: Any) -> GeneticCode:
        nonlocal bred
        bred += layer == 0  # one layer-0 choice per offspring bred (layer 1+: evolving a pGC)
        return select_pgc(target, layer, *args)

    e.select_pgc = counting  # type: ignore[method-assign]
    e.generation(island, epoch_rng(1, 0, 0))
    assert e.stop_now() and 0 < e.offspring < 40
    assert bred == e.offspring


def test_integrate_after_breed_is_one_generation() -> None:
    """Two engines with one seed: generation() and breed()+integrate() leave identical islands and counts."""
    first, second = engine(population=16), engine(population=16)
    island_one, island_two = started(first), started(second)
    first.generation(island_one, epoch_rng(3, 0, 0))
    rng = epoch_rng(3, 0, 0)
    second.integrate(island_two, list(second.breed(island_two, rng)), rng)
    assert island_one.members == island_two.members
    assert (first.evaluations, first.offspring, first.stillborn) == (
        second.evaluations,
        second.offspring,
        second.stillborn,
    )


def test_integrate_credits_every_offspring() -> None:
    """Every bred offspring counts once; each live child is scored (or found in the score cache)."""
    e = engine(population=16)
    island = started(e)
    rng = epoch_rng(3, 0, 0)
    bred = list(e.breed(island, rng))
    e.integrate(island, bred, rng)
    assert e.offspring == len(bred)
    assert e.stillborn == sum(1 for o in bred if o.child is None)
    assert all(o.child is None or o.child.signature in e.scores for o in bred)


def test_survivors_keep_one_gc_per_behaviour_first() -> None:
    """Behaviours x, x, y: the second x ranks after y even though it is fitter than y."""
    e = engine(EvenParity3(), population=3, elitism=0.34, selection_pressure=1.0)
    island = started(e)
    a, b, c = island.members[:3]
    e.scores[a] = Score(0.9, False, None, b"x")
    e.scores[b] = Score(0.8, False, None, b"x")
    e.scores[c] = Score(0.2, False, None, b"y")
    e.niche = False
    for signature in (a, b, c):
        e.survivability[signature] = e.scores[signature].fitness
    island.members = [a, b, c]
    e.select_survivors(island, [])
    assert island.members == [a, c, b]


def test_an_offspring_with_its_parents_behaviour_takes_its_place() -> None:
    """Neutral drift: a child behaving exactly like an elite member replaces it; the member is retired."""
    e = engine(EvenParity3(), population=3, elitism=0.34, selection_pressure=1.0)
    island = started(e)
    parent, other, child = island.members[:3]
    e.niche = False
    for signature, fitness, behaviour in ((parent, 0.9, b"p"), (other, 0.5, b"o"), (child, 0.9, b"p")):
        e.scores[signature] = Score(fitness, False, None, behaviour)
        e.survivability[signature] = fitness
    island.members = [parent, other]
    e.select_survivors(island, [child])
    assert island.members[:2] == [child, other]
    assert parent not in island.members[:2]


def test_breeding_is_reproducible() -> None:
    """The same RNG state breeds the same offspring signatures."""
    signatures = []
    for _ in range(2):
        e = engine(population=16)
        island = started(e)
        bred = list(e.breed(island, random.Random(5)))
        signatures.append([o.child.signature if o.child else None for o in bred])
    assert signatures[0] == signatures[1]


def test_literal_perturbation_only_where_there_are_literals() -> None:
    """Problems without literal codons get no pgc_perturb_literal (it could only make stillborns)."""
    from egp.problems import Multiplexer6, Nguyen5

    without, with_literals = engine(Multiplexer6()), engine(Nguyen5())
    assert not without.literals and with_literals.literals
    assert "pgc_perturb_literal" not in [c.name for c in without.pgc_codons]
    assert "pgc_perturb_literal" in [c.name for c in with_literals.pgc_codons]
    assert len(without.pgcs.pool[0]) == len(with_literals.pgcs.pool[0]) - 1


def test_an_engine_reuses_a_warm_evaluator_of_the_same_problem() -> None:
    """A warm evaluator keeps its output cache and evaluates from the new engine's store; another problem's
    evaluator is not taken."""
    first = engine(population=16)
    started(first)
    warm = first.evaluator
    misses = warm.misses
    second = Engine(first.problem, small_config(population=16), evaluator=warm)
    assert second.evaluator is warm and warm.executor is second.executor
    island = started(second)  # the same seed: the same initial population, every output already cached
    assert warm.misses == misses and warm.hits > 0
    assert all(second.scores[s] == first.scores[s] for s in island.members)
    other = Engine(EvenParity3(), small_config(population=16), evaluator=warm)
    assert other.evaluator is not warm


def test_the_target_stops_a_run_once_any_score_reaches_it() -> None:
    """stop_now with a target compares the highest fitness scored so far (kept as scores are stored)."""
    e = engine(target=0.9)
    assert not e.stop_now()
    e.scores[b"a" * 32] = Score(0.5, False, None)
    assert not e.stop_now() and e.scores.top_fitness == 0.5
    e.scores[b"b" * 32] = Score(0.95, False, None)
    e.scores[b"c" * 32] = Score(0.2, False, None)
    assert e.stop_now() and e.scores.top_fitness == 0.95


def test_a_solution_ends_the_run_unless_stop_when_solved_is_off() -> None:
    """stop_when_solved=False keeps a solved run going to its budget; a target still ends it."""
    for stop_when_solved, target, expected in ((True, None, True), (False, None, False), (False, 0.5, True)):
        e = engine(stop_when_solved=stop_when_solved, target=target)
        island = started(e)
        e.solved_by = e.lookup(island.members[0])
        e.scores[island.members[0]] = Score(1.0, True, None)
        assert e.stop_now() is expected


class _CountingEvaluator:
    """The engine's own evaluator, noting each batch the engine asks to have scored ahead."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.batches: list[list[bytes]] = []

    def prefetch(self, gcs: list[GeneticCode]) -> None:
        self.batches.append([gc.signature for gc in gcs])

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_stagnant_island_is_reseeded_with_one_scoring_batch() -> None:
    """After `stagnation` generations without a better best, half the island is replaced by spontaneous GCs,
    announced to the evaluator as one batch first (remote fitness scores them in one fan-out)."""
    e = engine(population=16, stagnation=2, reseed=0.5)
    island = started(e)
    counting = _CountingEvaluator(e.evaluator)
    e.evaluator = counting  # type: ignore[assignment]
    island.best, island.stale = 2.0, 1  # nothing can beat 2.0: this generation is stagnant
    island.record = record(e)
    before = list(island.members)
    e.integrate(island, [], random.Random(3))
    assert island.stale == 0
    fresh = [s for s in island.members if s not in before]
    kept = island.members[: len(island.members) - len(fresh)]
    assert len(fresh) >= 6 and len(kept) == 8 and set(kept) <= set(before)
    assert counting.batches[-1] and set(counting.batches[-1]) <= set(fresh)
    assert all(s in e.scores for s in island.members)


def test_reseed_one_restarts_a_stagnant_island_from_new_material_alone() -> None:
    """reseed = 1: the whole island is replaced by spontaneous GCs (the run keeps its best fitness)."""
    e = engine(population=16, stagnation=2, reseed=1.0)
    island = started(e)
    best = e.best_signature()
    island.best, island.stale = 2.0, 1
    island.record = record(e)
    before = set(island.members)
    e.integrate(island, [], random.Random(3))
    assert len(island.members) == 16 and not before & set(island.members)
    assert e.fitness(e.best_signature() or b"") >= e.fitness(best or b"")  # nothing is lost


def test_reseed_is_the_problems_preference_unless_the_run_sets_it() -> None:
    """even-parity-3 restarts stagnant islands (reseed 1), koza-quartic reseeds half; a run's setting wins."""
    assert engine(EvenParity3()).reseed == 1.0
    assert engine().reseed == 0.5
    assert engine(EvenParity3(), reseed=0.25).reseed == 0.25
