"""The table regression problem: fitness bounds and scale invariance, identity from the data, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from egp.engine.evaluation import CaseEvaluator
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.execution import Executor
from egp.problems.base import ProblemError, safe_assess
from egp.problems.tabular import TabularRegression, function_codons, linear_scale, scaled_r2

ROWS = 12
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _problem(seed: int = 0, rows: int = ROWS, **kwargs: object) -> TabularRegression:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, (rows, 2))
    return TabularRegression(X, X[:, 0] * X[:, 1] + 2.0, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, ROWS, elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_fitness_is_always_in_the_unit_interval(output: np.ndarray) -> None:
    """Any output column, NaN and infinities included, gets a fitness in [0, 1] and no failure reason."""
    assessment, reason = safe_assess(_problem(), [output])
    assert reason is None
    assert 0.0 <= assessment.fitness <= 1.0


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, ROWS, elements=finite), st.floats(0.01, 100), st.floats(-100, 100))
def test_fitness_ignores_the_scale_and_offset_of_the_output(
    output: np.ndarray, scale: float, shift: float
) -> None:
    """Linear scaling: a + b·f scores as f does (up to rounding) for any b ≠ 0 — for outputs that are not
    (nearly) constant: a variation below 1e-12 of an output's mean square counts as constant, and shifting
    a column of variation 1e-9 by 1 makes it so."""
    scaled = shift + scale * output
    assume(float(np.var(scaled)) > 1e-6 * (float(np.mean(scaled**2)) + 1.0))
    assume(float(np.var(output)) > 1e-6 * (float(np.mean(output**2)) + 1.0))
    problem = _problem()
    first = problem.assess([output]).fitness
    second = problem.assess([scaled]).fitness
    assert second == pytest.approx(first, abs=1e-6)


def test_the_exact_shape_is_solved_and_a_constant_scores_zero() -> None:
    """x0·x1 (any scale) solves the problem; a constant or a NaN column scores 0."""
    problem = _problem()
    shape = problem.X[:, 0] * problem.X[:, 1]
    assert problem.assess([-4.0 * shape]).solved
    assert problem.assess([np.full(ROWS, 3.0)]).fitness == 0.0
    assert problem.assess([3.0]).fitness == 0.0
    assert problem.assess([np.full(ROWS, np.nan)]).fitness == 0.0


def test_linear_scale_recovers_the_affine_map() -> None:
    """The least-squares offset and slope of y = 2 + 3·p are (2, 3); a constant p gets slope 0."""
    p = np.linspace(-1, 1, 9)
    offset, slope = linear_scale(p, 2 + 3 * p)
    assert (offset, slope) == (pytest.approx(2.0), pytest.approx(3.0))
    assert linear_scale(np.ones(9), p) == (pytest.approx(0.0), 0.0)
    y = 2 + 3 * p
    assert scaled_r2(p, y - y.mean(), float(np.sum((y - y.mean()) ** 2))) == pytest.approx(1.0)


def test_identity_and_name_follow_the_data() -> None:
    """The same data gives the same identity; other rows, validation rows or settings give another."""
    assert _problem(0).identity == _problem(0).identity
    assert _problem(0).name == _problem(0).name
    assert _problem(0).name.startswith("tabular-")
    assert _problem(0).identity != _problem(1).identity
    base = _problem(0)
    held = TabularRegression(base.X, base.y, X_validation=base.X[:3], y_validation=base.y[:3])
    assert held.identity != TabularRegression(base.X, base.y).identity
    assert _problem(0, size_penalty=0.01).identity != base.identity
    assert _problem(0, function_set=["add", "mul", "sin"]).identity != base.identity


def test_function_sets_map_short_names_to_float_codons() -> None:
    """Short names and codon names both work; unknown, non-float or constant-only sets are refused."""
    assert function_codons(["add", "div", "float_psin"]) == ("float_add", "float_pdiv", "float_psin")
    with pytest.raises(ProblemError, match="unknown function 'tan'"):
        function_codons(["add", "tan"])
    with pytest.raises(ProblemError, match="not float -> float"):
        function_codons(["add", "int_add"])
    with pytest.raises(ProblemError, match="only constants"):
        function_codons(["one", "pi"])
    with pytest.raises(ProblemError, match="non-empty list"):
        function_codons("add")


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.ones(5), np.ones(5), "must be 2-D"),
        (np.ones((1, 2)), np.ones(1), "at least 2 rows"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), np.ones(2), "NaN or infinite"),
        (np.ones((3, 2)), np.ones(4), "one value per row"),
        (np.ones((3, 2)), np.array([1.0, np.inf, 2.0]), "y contains NaN"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones(2), "must be numeric"),
    ],
)
def test_bad_arrays_are_one_clear_error(X: object, y: object, message: str) -> None:
    """Malformed X or y raises ProblemError naming the problem."""
    with pytest.raises(ProblemError, match=message):
        TabularRegression(X, y)


def test_the_size_penalty_lowers_the_fitness_of_larger_programs() -> None:
    """The evaluator subtracts size_penalty per codon; without a penalty a bigger program scores the same."""
    registry = codon_registry()
    store = {codon.signature: codon for codon in registry}
    mul = registry.by_name("float_mul")
    plain = _problem()
    penalised = _problem(size_penalty=0.01)
    free = CaseEvaluator(plain, Executor(store)).score(mul)
    charged = CaseEvaluator(penalised, Executor(store)).score(mul)
    assert charged.fitness == pytest.approx(free.fitness - 0.01 * mul.num_codons)
    assert charged.behaviour == free.behaviour


def test_large_columns_share_a_content_id_exactly_when_their_bytes_are_equal() -> None:
    """Large columns get new ids as they are made; `canonical` gives equal bytes one id, and a column that
    differs from another only in a row the fingerprint's sample skips (or in the sign of a zero) its own."""
    from egp.engine.evaluation import _interner, _Tally

    count = 5000
    values: list[object] = []
    intern, canonical = _interner(values, {}, count, _Tally())
    base = np.linspace(0.0, 1.0, count)
    same = base.copy()
    # Swapping two values keeps the sample (both rows are off the stride) and the sum of the words.
    swapped = base.copy()
    swapped[[1, 2]] = swapped[[2, 1]]
    signed = base.copy()
    signed[0] = -0.0
    ids = [intern(column) for column in (base, same, swapped, signed, swapped.copy())]
    assert ids == [0, 1, 2, 3, 4] and len(values) == 5
    assert canonical(ids[0]) == ids[0]  # the first of its content keeps its id
    assert canonical(ids[1]) == ids[0]
    assert canonical(ids[2]) == ids[2] and canonical(ids[3]) == ids[3]
    assert canonical(ids[4]) == ids[2]
    assert canonical(ids[4]) == ids[2]  # answered from its memo the second time
    small = np.arange(10.0)
    assert intern(small) == intern(small.copy()) == canonical(intern(small))  # small: by content at once


def test_a_saved_table_loads_as_the_same_problem(tmp_path: Path) -> None:
    """save() writes the data once (content-addressed); get_problem on its reference rebuilds the problem."""
    from egp.problems.registry import get_problem

    base = _problem(2, size_penalty=0.001, function_set=["add", "mul", "sin"])
    problem = TabularRegression(
        base.X, base.y, X_validation=base.X[:4], y_validation=base.y[:4], feature_names=["a", "b"]
    )
    reference = problem.save(tmp_path)
    assert problem.save(tmp_path) == reference and len(list(tmp_path.iterdir())) == 1
    loaded = get_problem(reference)
    assert isinstance(loaded, TabularRegression)
    assert loaded.identity == problem.identity and loaded.name == problem.name
    assert loaded.feature_names == ("a", "b") and loaded.ref == reference
    with pytest.raises(ProblemError, match="cannot read the table"):
        TabularRegression.load(f"tabular:{tmp_path / 'missing.npz'}")
