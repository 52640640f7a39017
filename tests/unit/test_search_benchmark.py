"""The search benchmark's summary: expected seconds to a solution and its ratios."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.search import _ratio, summarise


def _run(solved: bool, seconds: float) -> dict[str, object]:
    return {
        "solved": solved,
        "evaluations": 100,
        "evaluations_to_solution": 100 if solved else None,
        "seconds": seconds,
    }


@given(st.lists(st.tuples(st.booleans(), st.floats(0.01, 100.0)), min_size=1, max_size=30))
def test_expected_seconds_is_all_wall_time_over_solved_runs(runs: list[tuple[bool, float]]) -> None:
    """Failed runs' time counts; with no solved run there is no expected time."""
    summary = summarise([_run(solved, seconds) for solved, seconds in runs])
    solved = sum(1 for s, _ in runs if s)
    total = sum(seconds for _, seconds in runs)
    if solved:
        assert abs(summary["expected_seconds_to_solution"] - total / solved) <= 1e-9 * total
    else:
        assert summary["expected_seconds_to_solution"] is None


def test_ratio_is_none_where_a_side_never_solved() -> None:
    """A ratio needs both expected times (and a non-zero denominator)."""
    assert _ratio(1.0, 4.0) == 0.25
    assert _ratio(None, 4.0) is None
    assert _ratio(1.0, None) is None
    assert _ratio(1.0, 0.0) is None
