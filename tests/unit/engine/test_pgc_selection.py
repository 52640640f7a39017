"""The master selector z0's 4/2/1 rule: a category by weight — 4 for the target's effective pGCs, 2 for pGCs
with fitness > 0.5, 1 for the rest, 0 for an empty category — then a pGC within it (positive ones weighted by
fitness - 0.5, the others by fitness)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from engine_support import codon, engine, square_plus_x

from egp.engine.engine import Engine
from egp.engine.gene_pool import PgcStats
from egp.engine.pgc_pool import CATEGORY_WEIGHTS
from egp.genetic_code.gc import GeneticCode

DRAWS = 14_000


def setup(fitness: dict[str, float], effective: tuple[str, ...] = ()) -> tuple[Engine, GeneticCode]:
    e = engine()
    target = square_plus_x(e)
    e.pgcs.pool[0] = [codon(name).signature for name in fitness]
    e.pgcs.stats[0] = {
        codon(name).signature: PgcStats(value * 4, 4, 0.0, 4) for name, value in fitness.items()
    }
    if effective:
        e.effective[target.signature] = tuple(codon(name).signature for name in effective)
    return e, target


def frequencies(e: Engine, target: GeneticCode, draws: int = DRAWS) -> dict[str, float]:
    rng = random.Random(2024)
    counts = Counter(e.select_pgc(target, 0, rng).name for _ in range(draws))
    return {name: count / draws for name, count in counts.items()}


def test_the_category_weights_are_four_two_one() -> None:
    """The constants of the rule."""
    assert CATEGORY_WEIGHTS == (4.0, 2.0, 1.0)


def test_categories_are_drawn_four_to_two_to_one() -> None:
    """One pGC per category: effective (its own fitness a hair above neutral, so it is practically never
    drawn through the positive category), a positive one (0.9) and a negative one (0.3): 4/7, 2/7, 1/7."""
    e, target = setup({"pgc_wrap": 0.5 + 1e-9, "pgc_stack": 0.9, "pgc_delete": 0.3}, effective=("pgc_wrap",))
    seen = frequencies(e, target)
    assert seen["pgc_wrap"] == pytest.approx(4 / 7, abs=0.02)
    assert seen["pgc_stack"] == pytest.approx(2 / 7, abs=0.02)
    assert seen["pgc_delete"] == pytest.approx(1 / 7, abs=0.02)


def test_an_empty_category_gets_weight_zero() -> None:
    """Without effective pGCs the positive and negative categories share 2:1; with only negative pGCs and no
    effective ones every draw is negative; without positives effective:negative is 4:1."""
    e, target = setup({"pgc_stack": 0.9, "pgc_delete": 0.3})
    seen = frequencies(e, target, 6000)
    assert seen["pgc_stack"] == pytest.approx(2 / 3, abs=0.025)
    e, target = setup({"pgc_delete": 0.3, "pgc_rewire": 0.1})
    assert set(frequencies(e, target, 500)) <= {"pgc_delete", "pgc_rewire"}
    e, target = setup({"pgc_wrap": 0.5, "pgc_delete": 0.2}, effective=("pgc_wrap",))
    seen = frequencies(e, target, 6000)
    # pgc_wrap: 4/5 through "effective" + (1/5)·(0.5/0.7) through "negative".
    assert seen["pgc_wrap"] == pytest.approx(4 / 5 + (1 / 5) * (0.5 / 0.7), abs=0.025)


def test_within_a_category_positive_pgcs_weigh_fitness_minus_half_and_negative_ones_fitness() -> None:
    """Positive: 0.9 vs 0.6 weigh 0.4 : 0.1 (4:1). Negative: 0.4 vs 0.1 weigh 4:1."""
    e, target = setup({"pgc_stack": 0.9, "pgc_wrap": 0.6})
    seen = frequencies(e, target, 6000)
    assert seen["pgc_stack"] == pytest.approx(0.8, abs=0.025)
    e, target = setup({"pgc_delete": 0.4, "pgc_rewire": 0.1})
    seen = frequencies(e, target, 6000)
    assert seen["pgc_delete"] == pytest.approx(0.8, abs=0.025)


def test_unused_pgcs_count_as_neutral_negative() -> None:
    """A pGC without statistics has fitness 0.5: in the ≤ 0.5 category, weighted 0.5."""
    e, target = setup({"pgc_delete": 0.25})
    e.pgcs.pool[0].append(codon("pgc_harmony").signature)
    seen = frequencies(e, target, 6000)
    assert seen["pgc_harmony"] == pytest.approx(0.5 / 0.75, abs=0.025)


def test_effective_pgcs_outside_the_pool_are_ignored() -> None:
    """An effective pGC that left the pool (retired) is not drawn; its category is then empty."""
    e, target = setup({"pgc_stack": 0.9, "pgc_delete": 0.3}, effective=("pgc_wrap",))
    seen = frequencies(e, target, 3000)
    assert "pgc_wrap" not in seen
    assert seen["pgc_stack"] == pytest.approx(2 / 3, abs=0.04)
