"""Symbolic regression problems: koza-quartic and the Nguyen suite (float -> float)."""

from __future__ import annotations

import math
import random
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from egp.problems.base import Assessment, FitnessCases, Problem, float_column

#: Function sets as codon names from the shipped codon library (data: align with the final names here).
# Koza's arithmetic function set (+, -, *, protected /), as in the codegen benchmark. The trigonometric
# codons are left out on purpose: with them, smooth sin/cos approximations of the quartic become local optima
# that trap a large share of runs (figures: benchmarks/README.md).
KOZA_QUARTIC_CODONS: tuple[str, ...] = (
    "float_add",
    "float_sub",
    "float_mul",
    "float_pdiv",
)
NGUYEN_1_CODONS: tuple[str, ...] = KOZA_QUARTIC_CODONS
NGUYEN_5_CODONS: tuple[str, ...] = (*KOZA_QUARTIC_CODONS, "float_psin", "float_pcos", "lit_float_1")

#: A point is a hit when the absolute error is at most this (Koza's hits criterion).
HIT_TOLERANCE = 0.01

FloatArray = npt.NDArray[np.float64]


class SymbolicRegression(Problem):
    """A one-variable symbolic regression: fitness 1/(1 + mean absolute error), solved = every point a hit.

    Fitness is 1.0 exactly when solved; any non-finite output gives fitness 0.
    """

    inputs = ("float",)
    outputs = ("float",)
    vectorised = True
    # Small starting programs (like DEAP's symbreg genHalfAndHalf(1, 2)): the polynomials are found from
    # them as often, and small programs are fast to vary and score.
    initial_max_codons = 8
    # Drift only to programs no larger: free drift solves the same seeds but lets programs grow towards
    # max_codons in long runs, which stores more GCs per evaluation and evaluates fewer per second
    # (figures: benchmarks/README.md).
    drift_growth = 0

    @abstractmethod
    def points(self) -> FloatArray:
        """Return the x values of the fitness cases."""

    @abstractmethod
    def target(self, x: FloatArray) -> FloatArray:
        """Return the target function evaluated at x."""

    def make_cases(self) -> FitnessCases:
        """Build the cases: the x column and the target column."""
        x = np.ascontiguousarray(self.points(), dtype=np.float64)
        x.setflags(write=False)
        y = np.ascontiguousarray(self.target(x), dtype=np.float64)
        y.setflags(write=False)
        return FitnessCases(inputs=(x,), count=int(x.shape[0]), targets=(y,))

    def identity_data(self) -> tuple[Any, ...]:
        """Include the hit tolerance in the identity."""
        return ("hit-tolerance", HIT_TOLERANCE)

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Score by mean absolute error; solved when every point is within HIT_TOLERANCE."""
        cases = self.cases()
        y = float_column(outputs[0], cases.count)
        # Callers silence numpy's warnings (see safe_assess). The ufuncs and their reductions are called
        # directly: `error.sum()` and `.max()` are the same reductions behind a Python wrapper that costs as
        # much again, and this runs for every distinct output.
        error = _ABSOLUTE(_SUBTRACT(y, cases.targets[0]))
        # One sum decides most cases: it is finite exactly when every error is (an overflow of the sum of
        # finite errors falls back to the elementwise test).
        total = float(_SUM(error))
        if not math.isfinite(total) and not np.all(np.isfinite(error)):
            return Assessment(0.0, False)
        if float(_MAX(error)) <= HIT_TOLERANCE:
            return Assessment(1.0, True)
        return Assessment(1.0 / (1.0 + total / cases.count), False)  # total / count is np.mean(error)


_ABSOLUTE, _SUBTRACT, _SUM, _MAX = np.absolute, np.subtract, np.add.reduce, np.maximum.reduce


def _seeded_uniform(seed: int, count: int, low: float, high: float) -> FloatArray:
    """Return count points drawn uniformly from [low, high] with Python's (version-stable) Random(seed)."""
    rng = random.Random(seed)
    return np.array([rng.uniform(low, high) for _ in range(count)], dtype=np.float64)


class KozaQuartic(SymbolicRegression):
    """Koza's quartic polynomial x⁴+x³+x²+x on 20 points x = -1.0, -0.9, …, 0.9 (DEAP's symbreg points)."""

    name = "koza-quartic"
    version = "1"
    description = (
        "Koza quartic x^4+x^3+x^2+x on 20 points x in [-1, 1) step 0.1; fitness 1/(1+MAE); "
        "solved when all 20 points are within 0.01"
    )
    codons = KOZA_QUARTIC_CODONS
    family = "polynomial"
    parameters = (("n", 4),)

    def points(self) -> FloatArray:
        """Return x = k/10 for k in -10..9 (identical to DEAP's `[x/10. for x in range(-10, 10)]`)."""
        return np.arange(-10, 10, dtype=np.float64) / 10.0

    def target(self, x: FloatArray) -> FloatArray:
        """Return x⁴+x³+x²+x."""
        result: FloatArray = x**4 + x**3 + x**2 + x
        return result


class Nguyen1(SymbolicRegression):
    """Nguyen-1: x³+x²+x on 20 points drawn uniformly from [-1, 1] with seed 1."""

    name = "nguyen-1"
    version = "1"
    description = (
        "Nguyen-1 x^3+x^2+x on 20 points uniform in [-1, 1] (Python Random(1)); fitness 1/(1+MAE); "
        "solved when all 20 points are within 0.01"
    )
    codons = NGUYEN_1_CODONS
    family = "nguyen"
    parameters = (("n", 1),)

    def points(self) -> FloatArray:
        """Return 20 points uniform in [-1, 1] from Random(1)."""
        return _seeded_uniform(1, 20, -1.0, 1.0)

    def target(self, x: FloatArray) -> FloatArray:
        """Return x³+x²+x."""
        result: FloatArray = x**3 + x**2 + x
        return result


class Nguyen5(SymbolicRegression):
    """Nguyen-5: sin(x²)·cos(x) - 1 on 20 points drawn uniformly from [-1, 1] with seed 5."""

    name = "nguyen-5"
    version = "1"
    description = (
        "Nguyen-5 sin(x^2)cos(x)-1 on 20 points uniform in [-1, 1] (Python Random(5)); fitness 1/(1+MAE); "
        "solved when all 20 points are within 0.01"
    )
    codons = NGUYEN_5_CODONS
    family = "nguyen"
    parameters = (("n", 5),)

    def points(self) -> FloatArray:
        """Return 20 points uniform in [-1, 1] from Random(5)."""
        return _seeded_uniform(5, 20, -1.0, 1.0)

    def target(self, x: FloatArray) -> FloatArray:
        """Return sin(x²)·cos(x) - 1."""
        result: FloatArray = np.sin(x**2) * np.cos(x) - 1.0
        return result


#: Rows of the large-data regression problem.
LARGE_ROWS = 100_000


class KozaQuintic100k(SymbolicRegression):
    """Koza's quintic x⁵−2x³+x on 100,000 evenly spaced points: regression on large data.

    Every evaluation costs milliseconds (each new output is a 100,000-row column to compute, assess and
    digest), where koza-quartic's costs tens of microseconds: the problem remote fitness is measured on.
    """

    name = "koza-quintic-100k"
    version = "1"
    description = (
        "Koza quintic x^5-2x^3+x on 100,000 points evenly spaced in [-1, 1] (large data: an evaluation costs "
        "milliseconds); fitness 1/(1+MAE); solved when every point is within 0.01"
    )
    codons = KOZA_QUARTIC_CODONS

    def points(self) -> FloatArray:
        """Return 100,000 points from -1 to 1 inclusive, evenly spaced (no RNG: the same everywhere)."""
        return np.linspace(-1.0, 1.0, LARGE_ROWS, dtype=np.float64)

    def target(self, x: FloatArray) -> FloatArray:
        """Return x⁵−2x³+x."""
        result: FloatArray = x**5 - 2.0 * x**3 + x
        return result


# The rest of the Nguyen suite: target, domain of the 20 points, the function set added to Koza's, and the
# target's text. Nguyen's own set has exp and log; sqrt(x) is given psqrt rather than exp(0.5·log x).
_NGUYEN: dict[int, tuple[Any, float, float, tuple[str, ...], str]] = {
    2: (lambda x: x**4 + x**3 + x**2 + x, -1.0, 1.0, (), "x^4+x^3+x^2+x"),
    3: (lambda x: x**5 + x**4 + x**3 + x**2 + x, -1.0, 1.0, (), "x^5+x^4+x^3+x^2+x"),
    4: (lambda x: x**6 + x**5 + x**4 + x**3 + x**2 + x, -1.0, 1.0, (), "x^6+x^5+x^4+x^3+x^2+x"),
    6: (lambda x: np.sin(x) + np.sin(x + x**2), -1.0, 1.0, ("float_psin", "float_pcos"), "sin(x)+sin(x+x^2)"),
    7: (
        lambda x: np.log(x + 1.0) + np.log(x**2 + 1.0),
        0.0,
        2.0,
        ("float_plog", "lit_float_1"),
        "log(x+1)+log(x^2+1)",
    ),
    8: (np.sqrt, 0.0, 4.0, ("float_psqrt",), "sqrt(x)"),
}


class NguyenProblem(SymbolicRegression):
    """A Nguyen benchmark function on 20 points drawn uniformly from its domain with Random(N)."""

    family = "nguyen"
    number: int
    low: float
    high: float

    def points(self) -> FloatArray:
        """Return 20 points uniform in the domain from Random(N)."""
        return _seeded_uniform(self.number, 20, self.low, self.high)

    def target(self, x: FloatArray) -> FloatArray:
        """Return the Nguyen-N function at x."""
        result: FloatArray = np.asarray(_NGUYEN[self.number][0](x), dtype=np.float64)
        return result

    @classmethod
    def of(cls, number: int) -> NguyenProblem:
        """Nguyen-`number` for number in 2, 3, 4, 6, 7, 8 (1 and 5 are their own classes)."""
        _target, low, high, extra, text = _NGUYEN[number]
        made: type[NguyenProblem] = type(
            f"Nguyen{number}",
            (cls,),
            {
                "name": f"nguyen-{number}",
                "description": f"Nguyen-{number} {text} on 20 points uniform in [{low:g}, {high:g}] (Python "
                f"Random({number})); fitness 1/(1+MAE); solved when all 20 points are within 0.01",
                "codons": (*KOZA_QUARTIC_CODONS, *extra),
                "number": number,
                "low": low,
                "high": high,
                "parameters": (("n", number),),
            },
        )
        return made()
