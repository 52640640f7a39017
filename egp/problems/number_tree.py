"""EGP's own Number Tree problem: (int X, int Y) -> int with only + and -; target 8Y - 2X."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from egp.problems.base import Assessment, FitnessCases, Problem, float_column

#: The function set as codon names: integer + and - only (plus optional int literals; data, align here).
NUMBER_TREE_CODONS: tuple[str, ...] = ("int_add", "int_sub")

#: The fixed (X, Y) cases; the first is the Gen II instance X=3, Y=5. No case has Z = 8Y - 2X = 0.
NUMBER_TREE_CASES: tuple[tuple[int, int], ...] = (
    (3, 5),
    (1, 2),
    (4, 7),
    (6, 3),
    (2, 9),
    (7, 10),
    (10, 4),
    (9, 1),
)


def number_tree_target(x: int, y: int) -> int:
    """Return the Number Tree optimum Z = 8Y - 2X."""
    return 8 * y - 2 * x


class NumberTree(Problem):
    """Number Tree: fitness = mean of clamp01(1 - ((Z - f(X, Y))/Z)²); solved when every case is exact."""

    name = "number-tree"
    version = "1"
    description = (
        "Number Tree (EGP Gen II): (int X, int Y) -> int using only + and -, target Z = 8Y - 2X over 8 fixed "
        "(X, Y) cases including (3, 5); fitness mean clamp01(1 - ((Z - f)/Z)^2); solved when all exact"
    )
    inputs = ("int", "int")
    outputs = ("int",)
    codons = NUMBER_TREE_CODONS
    vectorised = True

    def make_cases(self) -> FitnessCases:
        """Build the X and Y columns and the target column Z."""
        xs = np.array([x for x, _ in NUMBER_TREE_CASES], dtype=np.int64)
        ys = np.array([y for _, y in NUMBER_TREE_CASES], dtype=np.int64)
        zs = np.array([number_tree_target(x, y) for x, y in NUMBER_TREE_CASES], dtype=np.int64)
        for column in (xs, ys, zs):
            column.setflags(write=False)
        return FitnessCases(inputs=(xs, ys), count=len(NUMBER_TREE_CASES), targets=(zs,))

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Score each case by clamp01(1 - ((Z - f)/Z)²) and average; a non-finite output scores 0 there."""
        cases = self.cases()
        f = float_column(outputs[0], cases.count)
        z = cases.targets[0].astype(np.float64)
        with np.errstate(all="ignore"):
            per_case = np.clip(1.0 - ((z - f) / z) ** 2, 0.0, 1.0)
        per_case = np.where(np.isfinite(per_case), per_case, 0.0)
        solved = bool(np.all(f == z))
        fitness = 1.0 if solved else min(float(np.mean(per_case)), float(np.nextafter(1.0, 0.0)))
        return Assessment(fitness, solved)


class NumberTreeCase(Problem):
    """One Number Tree instance: f(X, Y) = Z with + and − only; fitness clamp01(1 − ((Z − f)/Z)²)."""

    family = "number-tree"
    inputs = ("int", "int")
    outputs = ("int",)
    codons = NUMBER_TREE_CODONS
    vectorised = True
    case: tuple[int, int, int]

    def make_cases(self) -> FitnessCases:
        """The one case (X, Y) with target Z."""
        x, y, z = self.case
        columns = [np.array([value], dtype=np.int64) for value in (x, y, z)]
        for column in columns:
            column.setflags(write=False)
        return FitnessCases(inputs=(columns[0], columns[1]), count=1, targets=(columns[2],))

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """clamp01(1 − ((Z − f)/Z)²); solved when f = Z."""
        cases = self.cases()
        f = float_column(outputs[0], cases.count)
        z = cases.targets[0].astype(np.float64)
        with np.errstate(all="ignore"):
            score = float(np.clip(1.0 - ((z - f) / z) ** 2, 0.0, 1.0)[0])
        solved = bool(f[0] == z[0])
        if not np.isfinite(score):
            return Assessment(0.0, False)
        return Assessment(1.0 if solved else min(score, float(np.nextafter(1.0, 0.0))), solved)

    @classmethod
    def of(cls, x: int, y: int, z: int) -> NumberTreeCase:
        """number-tree-X-Y-Z."""
        made: type[NumberTreeCase] = type(
            "NumberTreeCase",
            (cls,),
            {
                "name": f"number-tree-{x}-{y}-{z}",
                "description": f"Number Tree instance: (int X, int Y) -> int using only + and -, "
                f"f({x}, {y}) = {z}; fitness clamp01(1 - ((Z - f)/Z)^2)",
                "case": (x, y, z),
                "parameters": (("x", x), ("y", y), ("z", z)),
            },
        )
        return made()
