"""Regression on table data: a problem built from arrays X (n × d floats) and y, scored with linear scaling.

Each column of X is one float input of the program. The fitness of a program output p is 1 − NMSE of the
best linear scaling a + b·p against y (Keijzer's linear scaling), which equals r², the squared Pearson
correlation of p and y, so it lies in [0, 1] with no transform needed. Linear scaling (rather than
standardising the inputs) is the choice for constants on real scales: the program only has to find the
*shape* of the relation, while the scale and offset of the target — often far from the few literal codons a
search starts with — come from two least-squares constants computed exactly for every program. The inputs
stay in their own units, so the returned formula reads in the user's features without undoing a transform.

Rows held out for validation are part of the problem (and of its identity) but not of its fitness: they
choose which of the fittest programs is returned (`validation_r2`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from egp.problems.base import Assessment, FitnessCases, Problem, ProblemError, float_column

FloatArray = npt.NDArray[np.float64]

#: The default function set: Koza's arithmetic (+, −, ×, protected ÷) and the literal 1.0, which the
#: literal-perturbation pGC turns into any other constant.
DEFAULT_FUNCTION_SET: tuple[str, ...] = ("add", "sub", "mul", "div", "one")

#: Short names accepted in a function set, and the codon each stands for (a codon name is accepted too).
FUNCTION_ALIASES: dict[str, str] = {
    "add": "float_add",
    "sub": "float_sub",
    "mul": "float_mul",
    "div": "float_pdiv",
    "sin": "float_psin",
    "cos": "float_pcos",
    "exp": "float_pexp",
    "log": "float_plog",
    "sqrt": "float_psqrt",
    "pow": "float_ppow",
    "abs": "float_abs",
    "neg": "float_neg",
    "max": "float_max",
    "min": "float_min",
    "one": "lit_float_1",
    "two": "lit_float_2",
    "half": "lit_float_0_5",
    "pi": "lit_float_pi",
}

#: The prefix of a problem reference that names a saved table: `tabular:/path/to/<data hash>.npz`.
TABULAR_SCHEME = "tabular:"

#: Programs whose normalised MSE after linear scaling is at most this count as exact: the run may stop.
EXACT_NMSE = 1e-10

# The variance of a program's output below which it counts as constant, relative to its mean square (the
# share of the target a constant explains is nothing, whatever rounding leaves in the variance).
_CONSTANT = 1e-12


def function_codons(function_set: Sequence[str] | None) -> tuple[str, ...]:
    """Codon names for a function set of short names (see FUNCTION_ALIASES) or float codon names."""
    from egp.genetic_code.codons import codon_registry

    names = DEFAULT_FUNCTION_SET if function_set is None else tuple(function_set)
    if isinstance(function_set, str) or not names:
        raise ProblemError("function_set must be a non-empty list of function names")
    registry = codon_registry()
    known = {codon.name for codon in registry}
    codons: list[str] = []
    for name in names:
        codon = FUNCTION_ALIASES.get(name, name)
        if not isinstance(codon, str) or codon not in known:
            choices = ", ".join(sorted(FUNCTION_ALIASES))
            raise ProblemError(
                f"unknown function {name!r} in function_set; use one of {choices} or a codon name"
            )
        found = registry.by_name(codon)
        float_id = _float_uid()
        if any(t != float_id for t in (*found.inputs, *found.outputs)):
            raise ProblemError(f"function {name!r} ({codon}) is not float -> float; regression needs floats")
        if codon not in codons:
            codons.append(codon)
    if all(not registry.by_name(c).inputs for c in codons):
        raise ProblemError("function_set has no function with inputs (only constants)")
    return tuple(codons)


def _float_uid() -> int:
    """The type uid of float."""
    from egp.genetic_code.types import TYPES

    return TYPES.uid("float")


def as_float_matrix(X: Any, what: str = "X") -> FloatArray:
    """X as a C-contiguous 2-D float64 array of finite values, or ProblemError naming what is wrong."""
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{what} must be numeric: {exc}") from None
    if array.ndim != 2:
        raise ProblemError(f"{what} must be 2-D (rows × features), got {array.ndim}-D")
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise ProblemError(f"{what} needs at least 2 rows and 1 column, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ProblemError(f"{what} contains NaN or infinite values")
    return np.ascontiguousarray(array)


def as_float_vector(y: Any, rows: int, what: str = "y") -> FloatArray:
    """y as a 1-D float64 array of `rows` finite values, or ProblemError naming what is wrong."""
    try:
        array = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{what} must be numeric: {exc}") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.shape != (rows,):
        raise ProblemError(f"{what} must have one value per row ({rows}), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ProblemError(f"{what} contains NaN or infinite values")
    return np.ascontiguousarray(array)


def scaled_r2(output: FloatArray, y_centred: FloatArray, y_ss: float) -> float:
    """r² of the best linear scaling of `output` against y (1 − its NMSE); 0 for constant or non-finite."""
    mean = float(np.add.reduce(output)) / output.shape[0]
    if not math.isfinite(mean):
        return 0.0
    centred = output - mean
    ss = float(np.dot(centred, centred))
    if not math.isfinite(ss) or ss <= _CONSTANT * (mean * mean + 1e-300) * output.shape[0] or y_ss <= 0.0:
        return 0.0
    cross = float(np.dot(centred, y_centred))
    r2 = cross * cross / (ss * y_ss)
    return min(max(r2, 0.0), 1.0) if math.isfinite(r2) else 0.0


def linear_scale(output: FloatArray, y: FloatArray) -> tuple[float, float]:
    """The least-squares (offset, slope) of y ≈ offset + slope·output (slope 0 for a constant output)."""
    mean = float(np.mean(output))
    centred = output - mean
    ss = float(np.dot(centred, centred))
    y_mean = float(np.mean(y))
    if not math.isfinite(ss) or ss <= _CONSTANT * (mean * mean + 1e-300) * output.shape[0]:
        return y_mean, 0.0
    slope = float(np.dot(centred, y - y_mean)) / ss
    if not math.isfinite(slope):
        return y_mean, 0.0
    return y_mean - slope * mean, slope


class TabularRegression(Problem):
    """Regression of y on the columns of X: fitness r² after linear scaling, minus an optional size penalty.

    `X_validation`, `y_validation` are held-out rows that choose the returned program; `size_penalty` is
    subtracted from the fitness per codon of the program (parsimony pressure), so 0 leaves size free.
    """

    version = "1"
    outputs = ("float",)
    vectorised = True
    #: The reference a job names this problem by once saved (`save`); None before.
    ref: str | None = None
    # Small starting programs, as for the one-variable regressions; drift only to programs no larger.
    initial_max_codons = 8
    drift_growth = 0

    def __init__(
        self,
        X: Any,
        y: Any,
        *,
        feature_names: Sequence[str] | None = None,
        function_set: Sequence[str] | None = None,
        size_penalty: float = 0.0,
        max_codons: int = 64,
        X_validation: Any = None,
        y_validation: Any = None,
        name: str | None = None,
    ) -> None:
        """A regression problem on X (n × d) and y (n); names label the features in formulas."""
        self._X = as_float_matrix(X)
        self._y = as_float_vector(y, self._X.shape[0])
        rows, width = self._X.shape
        if feature_names is None:
            feature_names = [f"x{k}" for k in range(width)]
        self.feature_names = tuple(str(n) for n in feature_names)
        if len(self.feature_names) != width:
            raise ProblemError(f"{len(self.feature_names)} feature names for {width} columns")
        if not (isinstance(size_penalty, int | float) and math.isfinite(size_penalty) and size_penalty >= 0):
            raise ProblemError(f"size_penalty must be a finite number >= 0, got {size_penalty!r}")
        if not isinstance(max_codons, int) or max_codons < 1:
            raise ProblemError(f"max_codons must be a positive integer, got {max_codons!r}")
        self.size_penalty = float(size_penalty)
        self.max_codons = max_codons
        self.codons = function_codons(function_set)
        self.inputs = ("float",) * width
        self._X_val: FloatArray | None = None
        self._y_val: FloatArray | None = None
        if (X_validation is None) != (y_validation is None):
            raise ProblemError("give both X_validation and y_validation, or neither")
        if X_validation is not None:
            self._X_val = as_float_matrix(X_validation, "X_validation")
            if self._X_val.shape[1] != width:
                raise ProblemError(f"X_validation has {self._X_val.shape[1]} columns, X has {width}")
            self._y_val = as_float_vector(y_validation, self._X_val.shape[0], "y_validation")
        self._y_centred = self._y - float(np.mean(self._y))
        self._y_ss = float(np.dot(self._y_centred, self._y_centred))
        self.description = f"regression of y on {width} float features, {rows} rows; fitness r² after scaling"
        # The name carries the data's hash, so the Gene Pool's problem list tells data sets apart.
        self.name = name or f"tabular-{self.data_hash()[:12]}"

    def data_hash(self) -> str:
        """A SHA-256 hex digest of the training and validation data (the part of identity that is data)."""
        import hashlib

        digest = hashlib.sha256()
        for array in (self._X, self._y, self._X_val, self._y_val):
            digest.update(b"-" if array is None else array.tobytes() + str(array.shape).encode())
        return digest.hexdigest()

    @property
    def X(self) -> FloatArray:
        """The training rows."""
        return self._X

    @property
    def y(self) -> FloatArray:
        """The training targets."""
        return self._y

    def make_cases(self) -> FitnessCases:
        """One read-only float column per feature, and the target column."""
        columns = []
        for k in range(self._X.shape[1]):
            column = np.ascontiguousarray(self._X[:, k])
            column.setflags(write=False)
            columns.append(column)
        target = self._y.copy()
        target.setflags(write=False)
        return FitnessCases(inputs=tuple(columns), count=int(self._X.shape[0]), targets=(target,))

    def identity_data(self) -> tuple[Any, ...]:
        """The function set, size penalty, exactness threshold and validation rows define the problem too."""
        return (
            "tabular/1",
            self.codons,
            self.size_penalty,
            self.max_codons,
            EXACT_NMSE,
            self._X_val if self._X_val is not None else "no-validation",
            self._y_val if self._y_val is not None else "no-validation",
        )

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Fitness r² of the linearly scaled output (1 − NMSE); solved when NMSE ≤ EXACT_NMSE."""
        count = self._y.shape[0]
        output = float_column(outputs[0], count)
        r2 = scaled_r2(output, self._y_centred, self._y_ss)
        return Assessment(r2, 1.0 - r2 <= EXACT_NMSE)

    def save(self, directory: str | Path) -> str:
        """Write the problem's data and settings to `directory` (content-addressed); return its reference.

        The reference (`tabular:<path>`) is what a job names: a worker that can read the file rebuilds
        exactly this problem (same identity) with `get_problem`. The file holds arrays only, never code.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.data_hash()[:32]}-{self.identity.hex()[:16]}.npz"
        if not path.exists():
            partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
            arrays: dict[str, Any] = {
                "X": self._X,
                "y": self._y,
                "feature_names": np.array(self.feature_names, dtype=np.str_),
                "codons": np.array(self.codons, dtype=np.str_),
                "settings": np.array([self.size_penalty, float(self.max_codons)]),
                "name": np.array(self.name, dtype=np.str_),
            }
            if self._X_val is not None and self._y_val is not None:
                arrays |= {"X_validation": self._X_val, "y_validation": self._y_val}
            np.savez(partial, **arrays)
            partial.replace(path)  # atomic: a worker never reads a half-written file
        self.ref = f"{TABULAR_SCHEME}{path.resolve()}"
        return self.ref

    @classmethod
    def load(cls, reference: str) -> TabularRegression:
        """The problem saved at a `tabular:<path>` reference (see `save`)."""
        path = Path(reference.removeprefix(TABULAR_SCHEME))
        try:
            with np.load(path, allow_pickle=False) as data:
                fields = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise ProblemError(f"problem reference {reference!r}: cannot read the table: {error}") from None
        try:
            problem = cls(
                fields["X"],
                fields["y"],
                feature_names=[str(n) for n in fields["feature_names"]],
                function_set=[str(c) for c in fields["codons"]],
                size_penalty=float(fields["settings"][0]),
                max_codons=int(fields["settings"][1]),
                X_validation=fields.get("X_validation"),
                y_validation=fields.get("y_validation"),
                name=str(fields["name"]),
            )
        except KeyError as missing:
            raise ProblemError(f"problem reference {reference!r}: the table has no {missing} array") from None
        problem.ref = reference
        return problem

    def validation(self) -> tuple[FloatArray, FloatArray] | None:
        """The held-out rows (X, y) that choose the returned program, or None."""
        if self._X_val is None or self._y_val is None:
            return None
        return self._X_val, self._y_val


def r2_score(y: FloatArray, predicted: FloatArray) -> float:
    """The coefficient of determination of predictions (−inf for non-finite ones; 0-variance y: 0 or 1)."""
    if not np.all(np.isfinite(predicted)):
        return -math.inf
    residual = float(np.sum((y - predicted) ** 2))
    total = float(np.sum((y - np.mean(y)) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total
