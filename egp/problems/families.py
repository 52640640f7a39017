"""Problem families: parametric problems resolved by name, each instance its own problem.

`even-parity-N` (N = 3…8), `multiplexer-K` (K = 6, 11, 20: k address bits and 2^k data bits),
`polynomial-N` (x + x² + … + xᴺ on koza-quartic's 20 points, N = 2…8; N = 4 is `koza-quartic`), `nguyen-N`
(the Nguyen suite, N = 1…8) and `number-tree-X-Y-Z` (one case f(X, Y) = Z with + and −). Every instance has
its own identity hash and declares its family and parameters, so runs on related instances can find each
other in a Gene Pool (egp.engine.relations).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from egp.problems.base import Problem, ProblemError
from egp.problems.boolean import EvenParity, EvenParity3, EvenParity5, Multiplexer, Multiplexer6
from egp.problems.number_tree import NumberTreeCase
from egp.problems.regression import (
    KOZA_QUARTIC_CODONS,
    FloatArray,
    KozaQuartic,
    Nguyen1,
    Nguyen5,
    NguyenProblem,
    SymbolicRegression,
)


@dataclass(frozen=True)
class Family:
    """A parametric problem family: its name pattern, parameter names, allowed values and factory."""

    name: str
    parameters: tuple[str, ...]
    pattern: re.Pattern[str]
    allowed: str  # the valid parameters, as an error message shows them
    members: tuple[str, ...]  # the instances `egp problems list` shows
    make: Callable[..., Problem]

    def resolve(self, name: str) -> Problem | None:
        """The instance `name` names, None if `name` is not of this family; ProblemError if its parameters
        are out of range."""
        match = self.pattern.fullmatch(name)
        if match is None:
            return None
        return self.make(*(int(group) for group in match.groups()))


def _even_parity(n: int) -> Problem:
    """even-parity-N for N = 3…8 (3 and 5 are the shipped classes, so their identities stay)."""
    if not 3 <= n <= 8:
        raise ProblemError(f"even-parity-N needs N in 3…8, got even-parity-{n}")
    if n == 3:
        return EvenParity3()
    if n == 5:
        return EvenParity5()
    made: type[EvenParity] = type(
        f"EvenParity{n}",
        (EvenParity,),
        {
            "name": f"even-parity-{n}",
            "description": f"Even-{n}-parity: True if an even number of the {n} inputs are True; "
            f"fitness: share of {2**n} rows",
            "inputs": ("bool",) * n,
            "width": n,
            "parameters": (("n", n),),
        },
    )
    return made()


_MULTIPLEXER_SIZES = {k + 2**k: k for k in (2, 3, 4)}


def _multiplexer(size: int) -> Problem:
    """multiplexer-K for K = 6, 11, 20 (k address bits, 2^k data bits)."""
    if size not in _MULTIPLEXER_SIZES:
        raise ProblemError(
            f"multiplexer-K needs K = k + 2^k for k = 2, 3, 4 (6, 11, 20), got multiplexer-{size}"
        )
    if size == 6:
        return Multiplexer6()
    return Multiplexer.of(_MULTIPLEXER_SIZES[size])


class Polynomial(SymbolicRegression):
    """x + x² + … + xᴺ on koza-quartic's 20 points with its function set."""

    family = "polynomial"
    codons = KOZA_QUARTIC_CODONS
    degree: int

    def points(self) -> FloatArray:
        """koza-quartic's x = k/10 for k in -10..9."""
        return KozaQuartic().points()

    def target(self, x: FloatArray) -> FloatArray:
        """x + x² + … + xᴺ."""
        result: FloatArray = sum((x**k for k in range(1, self.degree + 1)), np.zeros_like(x))
        return result


def _polynomial(n: int) -> Problem:
    """polynomial-N for N = 2…8 (N = 4 is koza-quartic itself)."""
    if not 2 <= n <= 8:
        raise ProblemError(f"polynomial-N needs N in 2…8, got polynomial-{n}")
    if n == 4:
        return KozaQuartic()
    terms = "+".join(f"x^{k}" if k > 1 else "x" for k in range(n, 0, -1))
    made_polynomial: type[Polynomial] = type(
        f"Polynomial{n}",
        (Polynomial,),
        {
            "name": f"polynomial-{n}",
            "description": f"{terms} on koza-quartic's 20 points; fitness 1/(1+MAE); "
            "solved when all 20 points are within 0.01",
            "degree": n,
            "parameters": (("n", n),),
        },
    )
    return made_polynomial()


def _nguyen(n: int) -> Problem:
    """nguyen-N for N = 1…8 (1 and 5 are the shipped classes)."""
    if not 1 <= n <= 8:
        raise ProblemError(f"nguyen-N needs N in 1…8, got nguyen-{n}")
    if n == 1:
        return Nguyen1()
    if n == 5:
        return Nguyen5()
    return NguyenProblem.of(n)


def _number_tree(x: int, y: int, z: int) -> Problem:
    """number-tree-X-Y-Z: (int X, int Y) -> int with + and − only, one case f(X, Y) = Z (Z ≠ 0)."""
    if z == 0:
        raise ProblemError("number-tree-X-Y-Z needs Z ≠ 0 (fitness divides by Z)")
    return NumberTreeCase.of(x, y, z)


FAMILIES: tuple[Family, ...] = (
    Family(
        "even-parity",
        ("n",),
        re.compile(r"even-parity-(\d+)"),
        "N = 3…8",
        tuple(f"even-parity-{n}" for n in range(3, 9)),
        _even_parity,
    ),
    Family(
        "multiplexer",
        ("k",),
        re.compile(r"multiplexer-(\d+)"),
        "K = 6, 11, 20",
        ("multiplexer-6", "multiplexer-11", "multiplexer-20"),
        _multiplexer,
    ),
    Family(
        "polynomial",
        ("n",),
        re.compile(r"polynomial-(\d+)"),
        "N = 2…8 (4 is koza-quartic)",
        tuple(f"polynomial-{n}" if n != 4 else "koza-quartic" for n in range(2, 9)),
        _polynomial,
    ),
    Family(
        "nguyen",
        ("n",),
        re.compile(r"nguyen-(\d+)"),
        "N = 1…8",
        tuple(f"nguyen-{n}" for n in range(1, 9)),
        _nguyen,
    ),
    Family(
        "number-tree",
        ("x", "y", "z"),
        re.compile(r"number-tree-(-?\d+)-(-?\d+)-(-?\d+)"),
        "integers X, Y and Z ≠ 0",
        ("number-tree-3-5-44", "number-tree-1-2-14"),
        _number_tree,
    ),
)


def resolve_family_member(name: str) -> Problem | None:
    """The family instance `name` names (None if no family's pattern matches); ProblemError for a family
    name with parameters out of range."""
    for family in FAMILIES:
        problem = family.resolve(name)
        if problem is not None:
            return problem
    return None


def family_of(name: str) -> Family | None:
    """The family called `name`."""
    return next((family for family in FAMILIES if family.name == name), None)
