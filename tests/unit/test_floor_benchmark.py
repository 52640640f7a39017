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
    """Rebuilding a path after a mutation gives the outputs a from-scratch evaluation gives."""
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
    """The same seed gives the same run, and it spends no more than its budget."""
    with np.errstate(all="ignore"):
        first = floor.ContentAddressedLoop(3, population=50, budget=400).run()
        again = floor.ContentAddressedLoop(3, population=50, budget=400).run()
    assert first == again
    assert first[0] <= 400


def test_the_benchmark_reports_every_side() -> None:
    """The report has the floor, EGP and DEAP, their ratio, and no lean core."""
    result = floor.main(["--seeds", "1", "--budget", "600"])
    for side in ("floor", "egp", "deap"):
        assert result[side]["evaluations"] >= 1
        assert result[side]["evals_per_s"] > 0
    assert result["ratio_egp_vs_deap"] == pytest.approx(
        result["egp"]["evals_per_s"] / result["deap"]["evals_per_s"]
    )
    assert "ratio_lean_core_vs_deap" not in result
