"""Metric formulas with hand-computed cases (domain §4.5-4.6).

pGC fitness at a layer is the running mean of (Δ/2 + 0.5) and its evolvability the running mean of max(Δ, 0);
a stillborn child counts Δ = -1; Δ rolls up the chain of pGCs that made the pGC (layer d+1, d+2, …); after
every N uses a pGC is mutated by a layer-(d+1) pGC and the child starts at 0.75x its parent's statistics with
count 2; a new child's survivability is max(own fitness, 0.75 x parent's survivability). Statistics are
totals + counts whose `add` merges deltas.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from engine_support import FLOAT, codon, composite_pgc, engine, record, square_plus_x

from egp.engine import lineage
from egp.engine.config import EvolutionError
from egp.engine.engine import Engine
from egp.engine.evaluation import Score
from egp.engine.gene_pool import EpochRecord, PgcStats, ProblemStats
from egp.engine.lineage import PARENTAL_PROTECTION, child_statistics, store_new_members
from egp.engine.meta_evolution import use_pgc
from egp.engine.pgc_pool import PGC_INHERITANCE
from egp.engine.population import Island
from egp.engine.survival import niche_size_efficiency, niche_survivability
from egp.genetic_code.assembly import Assembler, Expr


def test_pgc_fitness_and_evolvability_are_running_means_of_the_delta() -> None:
    """Δ = 0.4, -0.2, -1 → fitness mean(0.7, 0.4, 0.0) = 11/30; evolvability mean(0.4, 0, 0) = 2/15."""
    e = engine(meta_evolution=False)
    rec = record(e)
    pgc = codon("pgc_stack").signature
    for delta in (0.4, -0.2, -1.0):
        e.pgcs.credit(rec, 0, pgc, delta)
    stats = e.pgcs.stats[0][pgc]
    assert stats.fitness_count == 3 and stats.evolvability_count == 3
    assert stats.fitness == pytest.approx(11 / 30)
    assert stats.evolvability == pytest.approx(2 / 15)
    # The epoch record carries the same totals as a delta for the Gene Pool.
    delta = rec.pgc_stats[(pgc, 0)]
    assert (delta.fitness_total, delta.fitness_count) == (pytest.approx(1.1), 3)
    assert (delta.evolvability_total, delta.evolvability_count) == (pytest.approx(0.4), 3)


def test_a_stillborn_child_counts_delta_minus_one() -> None:
    """Koza's function set has no literals, so perturb_literal is always stillborn: each use adds Δ = -1,
    i.e. pGC fitness 0 and evolvability 0, and the parent's evolvability gets max(-1, 0) = 0."""
    e = engine(meta_evolution=False, population=10)
    members = e.initial_population(0)
    stillborn_pgc = codon("pgc_perturb_literal").signature
    e.pgcs.pool[0] = [stillborn_pgc]
    island = Island(0, members, record(e))
    e.generation(island, random.Random(1))
    assert e.stillborn == e.offspring == 10
    stats = e.pgcs.stats[0][stillborn_pgc]
    assert (stats.fitness_total, stats.fitness_count) == (0.0, 10)
    assert (stats.evolvability_total, stats.evolvability_count) == (0.0, 10)
    assert island.record is not None
    parents = [s for s in island.record.problem_stats if s in members]
    assert parents
    assert sum(island.record.problem_stats[s].evolvability_count for s in parents) == 10
    assert sum(island.record.problem_stats[s].evolvability_total for s in parents) == 0.0
    assert set(island.members) <= set(members)  # no child, so only parents survive


def test_delta_rolls_up_the_creator_chain() -> None:
    """p2 was made by p1, p1 by the codon pgc_wrap: using p2 at layer 0 credits p1 at 1 and pgc_wrap at 2."""
    e = engine(meta_evolution=False, pgc_layers=4)
    wrap = codon("pgc_wrap").signature
    p1 = composite_pgc(e, made_by=wrap)
    p2 = composite_pgc(e, made_by=p1.signature, first="pgc_rewire")
    rec = record(e)
    use_pgc(e, rec, p2, 0, 0.5, random.Random(0))
    use_pgc(e, rec, p2, 0, -0.5, random.Random(0))
    for layer, signature in ((0, p2.signature), (1, p1.signature), (2, wrap)):
        stats = e.pgcs.stats[layer][signature]
        assert stats.fitness_count == 2
        assert stats.fitness == pytest.approx((0.75 + 0.25) / 2)
        assert stats.evolvability == pytest.approx(0.25)
        assert rec.pgc_stats[(signature, layer)].fitness_count == 2
    assert all(wrap not in e.pgcs.stats[layer] for layer in (0, 1, 3))
    assert p1.signature not in e.pgcs.stats[0]


def test_the_roll_up_stops_at_the_top_layer() -> None:
    """With two layers the creator of the creator is not credited."""
    e = engine(meta_evolution=False, pgc_layers=2)
    wrap = codon("pgc_wrap").signature
    p1 = composite_pgc(e, made_by=wrap)
    p2 = composite_pgc(e, made_by=p1.signature, first="pgc_rewire")
    use_pgc(e, record(e), p2, 0, 0.5, random.Random(0))
    assert p1.signature in e.pgcs.stats[1]
    assert len(e.pgcs.stats) == 2


def test_meta_evolution_after_n_uses_inherits_three_quarters() -> None:
    """After N = 4 uses (Δ = 0.2, 0.6, -1, 0) the pGC is mutated by a layer-1 pGC; the child starts with
    0.75 x (fitness 0.475, evolvability 0.2) at count 2, joins the layer-0 pool and records its lineage."""
    e = engine(pgc_evolve_every=4, pgc_layers=3)
    parent = codon("pgc_wrap")
    stack = codon("pgc_stack").signature
    e.pgcs.pool[1] = [stack]  # the only layer-1 mutator: stack always makes a child of a pGC codon
    rec = record(e)
    rng = random.Random(5)
    for k, delta in enumerate((0.2, 0.6, -1.0, 0.0)):
        use_pgc(e, rec, parent, 0, delta, rng)
        assert e.pgcs_evolved == (1 if k == 3 else 0)
    parent_stats = e.pgcs.stats[0][parent.signature]
    assert parent_stats.fitness == pytest.approx(0.475)
    assert parent_stats.evolvability == pytest.approx(0.2)
    child_sig = e.pgcs.pool[0][-1]
    assert child_sig not in {c.signature for c in e.pgc_codons}
    child = e.lookup(child_sig)
    assert child.is_pgc and child.pgc == stack and child.ancestora == parent.signature
    inherited = e.pgcs.stats[0][child_sig]
    assert inherited.fitness_count == 2 and inherited.evolvability_count == 2
    assert inherited.fitness == pytest.approx(PGC_INHERITANCE * 0.475)
    assert inherited.evolvability == pytest.approx(PGC_INHERITANCE * 0.2)
    assert PGC_INHERITANCE == 0.75
    assert rec.pgc_stats[(child_sig, 0)].fitness_total == pytest.approx(2 * 0.75 * 0.475)
    assert child in rec.new_gcs  # persisted with the epoch


def test_no_meta_evolution_when_switched_off() -> None:
    """meta_evolution=False keeps the bootstrap pGCs fixed, however many uses."""
    e = engine(pgc_evolve_every=2, meta_evolution=False)
    rec = record(e)
    for _ in range(6):
        use_pgc(e, rec, codon("pgc_wrap"), 0, 0.1, random.Random(0))
    assert e.pgcs_evolved == 0
    assert e.pgcs.pool[0] == [c.signature for c in e.pgc_codons]


def test_parental_protection() -> None:
    """A new child's survivability is max(own fitness, 0.75 x parent's survivability)."""
    assert PARENTAL_PROTECTION == 0.75
    e = engine()
    parent = square_plus_x(e)
    pgc = codon("pgc_stack")
    e.survivability[parent.signature] = 0.8
    rec = record(e)
    weak = composite_pgc(e, made_by=None)  # any stored GC not seen before serves as a "child" here
    e.scores[weak.signature] = Score(0.3, False)
    child_statistics(e, rec, parent.signature, weak, Score(0.3, False), 0.3 - 0.8, pgc)
    assert e.survivability[weak.signature] == pytest.approx(0.6)
    assert rec.problem_stats[parent.signature].descendants == 1
    assert weak.signature not in rec.problem_stats  # stored only if it enters the population
    strong = composite_pgc(e, made_by=None, first="pgc_delete")
    e.scores[strong.signature] = Score(0.9, False)
    child_statistics(e, rec, parent.signature, strong, Score(0.9, False), 0.1, pgc)
    assert e.survivability[strong.signature] == pytest.approx(0.9)
    assert rec.problem_stats[parent.signature].descendants == 2
    # Selection keeps the weak child: it is stored with its first statistics; the strong one is not.
    e.persisted.add(parent.signature)
    island = Island(0, [parent.signature, weak.signature], record=rec)
    store_new_members(e, island)
    assert e.joined == {weak.signature: 0} and not rec.new_gcs  # written when the epoch is flushed
    e.scores[parent.signature] = Score(0.8, False)
    e.scores[strong.signature] = Score(0.7, False)  # not the best so far: the best is always stored
    lineage.store_lineage(e, island)
    assert weak in rec.new_gcs and strong not in rec.new_gcs
    assert rec.problem_stats[weak.signature].survivability == pytest.approx(0.6)
    assert rec.problem_stats[weak.signature].fitness_total == pytest.approx(0.3)
    assert rec.problem_stats[weak.signature].fitness_count == 1
    assert strong.signature not in rec.problem_stats
    # An improving child records the pGC as effective for its lineage; a worse one does not. Breeding sees
    # it from the next generation on (integrate commits the generation's records when it ends).
    assert e.effective_pending[strong.signature][0] == pgc.signature
    assert weak.signature not in e.effective_pending and strong.signature not in e.effective


def test_problem_stats_add() -> None:
    """Totals and counts add; survivability is the latest value when the delta scores or sets it."""
    stats = ProblemStats()
    assert stats.fitness == 0.0 and stats.evolvability == 1.0
    stats.add(ProblemStats(fitness_total=0.5, fitness_count=1, survivability=0.5))
    stats.add(ProblemStats(fitness_total=0.7, fitness_count=1, survivability=0.6, descendants=2))
    assert stats.fitness == pytest.approx(0.6) and stats.survivability == 0.6 and stats.descendants == 2
    stats.add(ProblemStats(evolvability_total=0.25, evolvability_count=1))
    assert stats.survivability == 0.6  # an evolvability-only delta keeps the survivability
    assert stats.evolvability == pytest.approx(0.25)
    stats.add(ProblemStats(evolvability_total=0.75, evolvability_count=3, descendants=1))
    assert stats.evolvability == pytest.approx(0.25) and stats.descendants == 3
    stats.add(ProblemStats(survivability=0.2))
    assert stats.survivability == 0.2 and stats.fitness_count == 2


def test_pgc_stats_add() -> None:
    """Neutral defaults (fitness 0.5, evolvability 0) and additive merging of two databases' deltas."""
    stats = PgcStats()
    assert stats.fitness == 0.5 and stats.evolvability == 0.0
    stats.add(PgcStats(1.5, 2, 0.4, 2))
    stats.add(PgcStats(0.0, 1, 0.0, 1))
    assert (stats.fitness_total, stats.fitness_count) == (1.5, 3)
    assert stats.fitness == pytest.approx(0.5) and stats.evolvability == pytest.approx(0.4 / 3)
    other = PgcStats()
    other.add(PgcStats(0.0, 1, 0.0, 1))
    other.add(PgcStats(1.5, 2, 0.4, 2))
    assert (other.fitness_total, other.fitness_count, other.evolvability_total) == (
        stats.fitness_total,
        stats.fitness_count,
        stats.evolvability_total,
    )


def test_the_roll_up_ends_at_a_maker_the_run_does_not_have() -> None:
    """A pGC made by a pGC missing from the Gene Pool is credited and evolved; the roll-up stops there."""
    e = engine(pgc_evolve_every=1)
    pgc = composite_pgc(e, made_by=bytes(32))
    rec = record(e)
    use_pgc(e, rec, pgc, 0, 0.5, random.Random(1))
    assert (pgc.signature, 0) in rec.pgc_stats
    assert all(signature != bytes(32) for signature, _layer in rec.pgc_stats)


def test_an_engine_loads_the_makers_of_its_pooled_pgcs() -> None:
    """pGCs taken from the Gene Pool come with the chain of pGCs that made them (Δ rolls up that chain)."""
    first = engine(pgc_evolve_every=1)
    maker = composite_pgc(first, None)
    made = composite_pgc(first, maker.signature, "pgc_wrap", "pgc_rewire")
    subs = [first.lookup(s) for s in (maker.gca, maker.gcb, made.gca, made.gcb) if s is not None]
    first.pool.put_many([*subs, maker, made])
    delta = EpochRecord(problem=first.problem_id)
    delta.pgc_stats[(made.signature, 0)] = PgcStats(0.9, 1, 0.4, 1)
    first.pool.record_epoch(delta)
    second = Engine(first.problem, first.config, first.pool)
    assert made.signature in second.pgcs.pool[0]
    assert maker.signature in second.store


def _niche_engine(threshold: float | None) -> tuple[Engine, list[bytes], dict[bytes, int]]:
    """Three GCs of growing size on two test cases (each case its own group, worth 0.5)."""
    e = engine(survivability="niche", niche_size_threshold=threshold)
    assembler = Assembler(e.store, [FLOAT])
    x = Expr(None, (), 0)

    def apply(name: str, *args: Expr) -> Expr:
        return Expr(codon(name), args)

    small = square_plus_x(e)
    other = assembler.assemble(apply("float_add", apply("float_mul", x, x), apply("float_mul", x, x)))
    large = assembler.assemble(
        apply("float_add", apply("float_mul", apply("float_add", x, x), x), apply("float_sub", x, x))
    )
    sizes = {gc.signature: gc.num_codons for gc in (small, other, large)}
    e.scores[small.signature] = Score(0.5, False, cases=np.array([0.5, 0.0]))
    e.scores[other.signature] = Score(1.0, False, cases=np.array([0.5, 0.5]))
    e.scores[large.signature] = Score(0.5, False, cases=np.array([0.0, 0.5]))
    return e, [small.signature, other.signature, large.signature], sizes


def test_niche_survivability_shares_each_case_among_its_competitors() -> None:
    """η = 1: case 1 is shared by the first two GCs, case 2 by the last two (hand-computed)."""
    e, sigs, _ = _niche_engine(None)
    niche_survivability(e, sigs)
    assert [e.survivability[s] for s in sigs] == pytest.approx([0.25, 0.5, 0.25])


def test_niche_size_efficiency_gives_smaller_competitors_a_bigger_share() -> None:
    """z = min(Z_thr/Z, Z_comp/Z, 1) weights each competitor's share of a case (domain spec §4.6)."""
    e, sigs, sizes = _niche_engine(2.0)
    z1 = [min(2 / sizes[s], (sizes[sigs[0]] + sizes[sigs[1]]) / 2 / sizes[s], 1.0) for s in sigs[:2]]
    z2 = [min(2 / sizes[s], (sizes[sigs[1]] + sizes[sigs[2]]) / 2 / sizes[s], 1.0) for s in sigs[1:]]
    niche_survivability(e, sigs)
    expected = [
        0.5 * z1[0] / sum(z1),
        0.5 * z1[1] / sum(z1) + 0.5 * z2[0] / sum(z2),
        0.5 * z2[1] / sum(z2),
    ]
    assert [e.survivability[s] for s in sigs] == pytest.approx(expected)
    assert len(set(sizes.values())) > 1, "equal sizes would show nothing"


def test_niche_size_efficiency_matches_the_formula() -> None:
    """Sizes 1, 2, 8 in one group (mean 11/3): z = 1, 1 and 2/8; a GC outside the group has no share."""
    scoring = np.array([[True], [True], [True], [False]])
    z = niche_size_efficiency(np.array([1.0, 2.0, 8.0, 3.0]), scoring, 2.0)
    assert z[:3, 0] == pytest.approx([1.0, 1.0, 0.25])
    wide = niche_size_efficiency(np.array([4.0, 4.0]), np.array([[True], [True]]), 8.0)
    assert wide[:, 0] == pytest.approx([1.0, 1.0])  # capped at 1 when Z_thr and Z_comp exceed Z
    with pytest.raises(EvolutionError, match="niche_size_threshold must be positive"):
        engine(niche_size_threshold=0.0)
