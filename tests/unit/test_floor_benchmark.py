"""Checks of the content-addressed floor loop that `python -m benchmarks floor` measures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("deap")

from benchmarks import floor


def _direct(loop: floor.ContentAddressedLoop, signature: bytes) -> np.ndarray:
    """The node's output computed from scratch, without the cache."""
    operator, a, b, _ = loop.nodes[signature]
    if operator is None:
        return floor._POINTS
    return floor._OPERATORS[operator](_direct(loop, a), _direct(loop, b))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), operators=st.integers(1, 12), mutations=st.integers(1, 6))
def test_cached_outputs_equal_outputs_computed_from_scratch(
    seed: int, operators: int, mutations: int
) -> None:
    loop = floor.ContentAddressedLoop(seed)
    with np.errstate(all="ignore"):
        tree = loop.random_tree(operators)
        assert loop.nodes[tree][3] == 2 * operators + 1
        for _ in range(mutations):
            loop.output(tree)  # fill the cache with the parent, as evolution does
            path, _ = loop.random_node(tree)
            tree = loop.replace(path, loop.random_tree(loop.rng.randint(0, 3)))
            np.testing.assert_array_equal(loop.output(tree), _direct(loop, tree))


def test_a_run_is_deterministic_and_keeps_to_its_budget() -> None:
    with np.errstate(all="ignore"):
        first = floor.ContentAddressedLoop(3, population=50, budget=400).run()
        again = floor.ContentAddressedLoop(3, population=50, budget=400).run()
    assert first == again
    assert first[0] <= 400


def test_the_benchmark_reports_every_side() -> None:
    result = floor.main(["--seeds", "1", "--budget", "600"])
    for side in ("floor", "lean_core", "egp", "deap"):
        assert result[side]["evaluations"] >= 1
        assert result[side]["evals_per_s"] > 0
    assert result["ratio_egp_vs_deap"] == pytest.approx(
        result["egp"]["evals_per_s"] / result["deap"]["evals_per_s"]
    )


def test_the_lean_core_credits_every_offspring_to_one_layer_0_pgc() -> None:
    from benchmarks import _lean_loop as lean

    with np.errstate(all="ignore"):
        loop = lean.LeanLoop(5, population=60, budget=1_500)
        loop.run()
    assert loop.offspring > loop.population
    counted = sum(int(stats[1]) for stats in loop.stats[0].values())
    # Each offspring adds one use; each pGC evolved at layer 0 starts with two inherited ones.
    assert counted == loop.offspring + 2 * loop.evolved[0]
    for layer in range(lean.LAYERS):
        for stats in loop.stats[layer].values():
            if stats[1]:
                assert 0.0 <= stats[0] / stats[1] <= 1.0  # running mean of Δ/2 + 0.5, Δ in [-1, 1]
                assert 0.0 <= stats[2] / stats[3] <= 1.0  # running mean of max(Δ, 0)
        assert len(loop.pools[layer]) <= lean.POOL_LIMIT
    assert sum(loop.evolved) > 0  # meta-evolution happened
    assert all(1 <= len(loop.steps[s]) <= lean.MAX_STEPS for layer in loop.pools for s in layer)


def test_the_lean_core_is_deterministic_and_its_survivors_show_distinct_behaviours_first() -> None:
    from benchmarks import _lean_loop as lean

    with np.errstate(all="ignore"):
        first = lean.LeanLoop(2, population=80, budget=900)
        result = first.run()
        again = lean.LeanLoop(2, population=80, budget=900).run()
        assert result == again and result[0] <= 900
        members = list(first.scores)[:80]
        children = list(first.scores)[80:200]
        survivors = first.survivors(members, children)
    assert len(survivors) == min(80, len(set(members) | set(children)))
    behaviours = [first.behaviour[s] for s in survivors]
    distinct = len(set(behaviours))
    assert len(set(behaviours[:distinct])) == distinct  # every behaviour once before any repeat
    # Its nodes are content-addressed: outputs from the cache equal outputs computed from scratch.
    for signature in survivors[:20]:
        np.testing.assert_array_equal(first.output(signature), _direct(first, signature))
