"""Checks of `python -m benchmarks regression`: the split, the summary figures, a one-second run per peer."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("deap")

from benchmarks import regression
from benchmarks.regression_peers import RUNNERS


def test_the_split_is_fixed_75_25() -> None:
    """Each data set splits the same way every time, a quarter held out."""
    first = regression.load("diabetes")
    again = regression.load("diabetes")
    assert first[0].shape == (331, 10) and first[2].shape == (111, 10)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert regression.load("friedman1-1000")[0].shape == (750, 10)


def test_the_summary_takes_medians_and_quartiles() -> None:
    """Medians and IQR over the seeds; a non-finite R² counts as the lowest, not as NaN."""
    runs = [
        {"test_r2": r2, "size": size, "evaluations": 100 * size, "seconds": 1.0}
        for r2, size in ((0.5, 1), (0.7, 2), (-math.inf, 3), (0.9, 4))
    ]
    summary = regression.summarise(runs)
    assert summary["test_r2_median"] == pytest.approx(0.6)
    assert summary["size_median"] == 2.5 and summary["evals_per_s_median"] == 250.0
    assert math.isfinite(summary["test_r2_iqr"])


@pytest.mark.slow
@pytest.mark.parametrize("tool", sorted(RUNNERS))
def test_every_peer_runs_within_its_budget(tool: str) -> None:
    """Each installed peer fits the diabetes split in about its budget and reports its figures."""
    if tool == "pyoperon":
        pytest.importorskip("pyoperon")
    if tool == "gplearn":
        pytest.importorskip("gplearn")
    X, y, X_test, y_test = regression.load("diabetes")
    result = RUNNERS[tool](X, y, X_test, y_test, 0, 1.0)
    assert result["evaluations"] > 0 and result["size"] >= 1
    assert 0.5 <= result["seconds"] < 15.0
    assert result["test_r2"] > -10.0


def test_the_profile_splits_a_fit_into_scoring_and_the_rest() -> None:
    """The fit without scoring breeds the same program (scores looked up); the shares add up."""
    from benchmarks import regression_profile

    result = regression_profile.main(["--dataset", "diabetes", "--evaluations", "600", "--reps", "1"])
    assert result["evaluations"] >= 600 and result["same_program_without_scoring"]
    assert result["cpu_seconds_without_scoring"] > 0.0 and result["cpu_seconds_fit"] > 0.0
    assert result["us_per_gc_fit"] == pytest.approx(result["us_per_gc_scoring"] + result["us_per_gc_rest"])
    replay = result["replay"]
    assert replay["us_per_gc"] > 0.0 and replay["cache_misses_per_gc"] > 0.0
