"""The problem plug-in API: fitness cases, assessments, problem identity and the safe assessment wrapper."""

from __future__ import annotations

import hashlib
import math
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from egp.errors import EGPError

#: The EGP endpoint type names a problem may use for its inputs and outputs.
TYPE_NAMES: frozenset[str] = frozenset(
    {"bool", "int", "float", "str", "list[int]", "list[float]", "list[str]", "list[bool]"}
)

#: Longest reason string that `safe_assess` records.
_MAX_REASON = 240


class ProblemError(EGPError):
    """A problem is unknown, cannot be loaded, or is malformed."""


@dataclass(frozen=True, eq=False)
class FitnessCases:
    """The inputs of every fitness case: one column per input endpoint, each holding all cases.

    A column is a numpy array for bool/int/float inputs of a vectorised problem and a tuple otherwise.
    `targets` optionally holds the expected output columns (one per output) where a problem has them.
    """

    inputs: tuple[Any, ...]
    count: int
    targets: tuple[Any, ...] = ()

    def rows(self) -> list[tuple[Any, ...]]:
        """Return the cases as rows of plain Python values, one tuple per case."""
        columns = [col.tolist() if isinstance(col, np.ndarray) else list(col) for col in self.inputs]
        return list(zip(*columns, strict=True)) if columns else [() for _ in range(self.count)]


@dataclass(frozen=True)
class Assessment:
    """The result of assessing one program on a problem: fitness in [0, 1] and whether it solves it."""

    fitness: float
    solved: bool


#: The assessment of a program that failed or produced an invalid fitness.
FAILED = Assessment(0.0, False)


class Problem(ABC):
    """A problem: a typed interface, fixed fitness cases and a fitness function into [0, 1]."""

    name: str
    version: str = "1"
    description: str = ""
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    codons: tuple[str, ...] | None = None
    vectorised: bool = True
    #: The parametric family this problem is an instance of (egp.problems.families), and its parameters.
    family: str | None = None
    parameters: tuple[tuple[str, int], ...] = ()

    _cases_cache: FitnessCases | None = None
    _identity_cache: bytes | None = None

    @abstractmethod
    def make_cases(self) -> FitnessCases:
        """Build the fitness cases (called once; use `cases()` to read them)."""

    #: The engine's program size limits for this problem (unless a run sets its own): the most codons an
    #: offspring may have, and the most a spontaneously assembled program starts with.
    max_codons: int = 64
    initial_max_codons: int = 32
    #: Neutral drift: how many codons larger than the kept GC an offspring with the same behaviour may be to
    #: take its place (None: any size; 0: drift only to programs no larger).
    drift_growth: int | None = None
    #: What share of a stagnant island is replaced by new spontaneous GCs (1: the island restarts from new
    #: material alone, which suits deceptive problems whose plateau no mutation leaves).
    reseed: float = 0.5

    #: Parsimony pressure: the evaluator subtracts this much fitness per codon of a GC (never below 0), after
    #: the per-output assessment (which sees outputs only, not the program). 0 leaves size free.
    size_penalty: float = 0.0

    #: How the engine ranks GCs by default: "fitness", or "niche" (test groups share their reward; see
    #: `case_scores`), which keeps GCs that solve rare cases alive on deceptive problems.
    survivability: str = "fitness"

    def case_scores(self, outputs: Sequence[Any]) -> npt.NDArray[np.float64] | None:
        """Each test case's contribution to the fitness (summing to it), or None if not defined."""
        return None

    @abstractmethod
    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Score the output columns (outputs[k] = output k over all cases, or a scalar for a constant)."""

    def cases(self) -> FitnessCases:
        """Return the fitness cases, built once and cached."""
        if self._cases_cache is None:
            cases = self.make_cases()
            if len(cases.inputs) != len(self.inputs):
                raise ProblemError(
                    f"problem {self.name!r} declares {len(self.inputs)} inputs but its cases have "
                    f"{len(cases.inputs)} columns"
                )
            self._cases_cache = cases
        return self._cases_cache

    def identity_data(self) -> tuple[Any, ...]:
        """Return extra data (beyond the case inputs and targets) that defines the problem; hashed."""
        return ()

    @property
    def identity(self) -> bytes:
        """Return the 32-byte SHA-256 of name, version, interface and case data (stable across processes)."""
        if self._identity_cache is None:
            cases = self.cases()
            digest = hashlib.sha256()
            for part in (
                "egp-problem/1",
                self.name,
                self.version,
                tuple(self.inputs),
                tuple(self.outputs),
                cases.count,
                cases.inputs,
                cases.targets,
                self.identity_data(),
            ):
                _feed(digest, part)
            self._identity_cache = digest.digest()
        return self._identity_cache

    def __repr__(self) -> str:
        """Return a short description naming the problem and its interface."""
        interface = f"({', '.join(self.inputs)}) -> ({', '.join(self.outputs)})"
        return f"<Problem {self.name} v{self.version} {interface}>"


def _feed(digest: Any, value: Any) -> None:
    """Feed a canonical, type-tagged, length-prefixed encoding of value into digest."""
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.hasobject:
            _feed(digest, ("ndarray-object", array.shape, tuple(array.ravel().tolist())))
            return
        header = f"{array.dtype.newbyteorder('<').str}{array.shape}".encode()
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        _chunk(digest, b"A", header + b"|" + data)
    elif isinstance(value, bool | np.bool_):
        _chunk(digest, b"B", b"1" if value else b"0")
    elif isinstance(value, int | np.integer):
        _chunk(digest, b"I", str(int(value)).encode())
    elif isinstance(value, float | np.floating):
        _chunk(digest, b"F", struct.pack("<d", float(value)))
    elif isinstance(value, str):
        _chunk(digest, b"S", value.encode("utf-8"))
    elif isinstance(value, bytes):
        _chunk(digest, b"Y", value)
    elif value is None:
        _chunk(digest, b"N", b"")
    elif isinstance(value, tuple | list):
        _chunk(digest, b"T", str(len(value)).encode())
        for item in value:
            _feed(digest, item)
    else:
        raise ProblemError(f"cannot hash problem data of type {type(value).__name__}")


def _chunk(digest: Any, tag: bytes, payload: bytes) -> None:
    """Feed one tagged, length-prefixed chunk into digest."""
    digest.update(tag + struct.pack("<Q", len(payload)) + payload)


def float_column(value: Any, count: int) -> npt.NDArray[np.float64]:
    """Return an output column as a float64 array of length count, broadcasting a scalar."""
    column: npt.NDArray[np.float64] = _column(value, count, np.float64)
    return column


def bool_column(value: Any, count: int) -> npt.NDArray[np.bool_]:
    """Return an output column as a bool array of length count, broadcasting a scalar."""
    column: npt.NDArray[np.bool_] = _column(value, count, np.bool_)
    return column


def _column(value: Any, count: int, dtype: Any) -> Any:
    """Convert value to a 1-D array of dtype and length count, broadcasting a scalar."""
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        return np.full(count, array, dtype=dtype)
    if array.shape != (count,):
        raise ValueError(f"output column has shape {array.shape}, expected ({count},)")
    return array


def object_column(value: Any, count: int) -> tuple[Any, ...]:
    """Return an output column of a non-vectorised problem as a tuple, broadcasting a scalar (or str)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        return (value,) * count
    column = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
    if len(column) != count:
        raise ValueError(f"output column has {len(column)} values, expected {count}")
    return column


def _reason(exc: BaseException) -> str:
    """Return a one-line reason for an exception."""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def safe_assess(
    problem: Problem, outputs: Sequence[Any], *, quiet: bool = False
) -> tuple[Assessment, str | None]:
    """Assess outputs, turning an exception, NaN or out-of-range fitness into fitness 0 with a reason.

    `quiet`: the caller has silenced numpy's floating-point warnings already (entering that state per call
    costs more than assessing a small problem).
    """
    try:
        if quiet:
            result = problem.assess(outputs)
        else:
            with np.errstate(all="ignore"):
                result = problem.assess(outputs)
    except Exception as exc:
        return FAILED, f"assess raised {_reason(exc)}"
    if not isinstance(result, Assessment):
        return FAILED, f"assess returned {type(result).__name__}, not Assessment"
    fitness = result.fitness
    if isinstance(fitness, bool) or not isinstance(fitness, int | float | np.integer | np.floating):
        return FAILED, f"fitness is {type(fitness).__name__}, not a number"
    value = float(fitness)
    if math.isnan(value):
        return FAILED, "fitness is NaN"
    if not 0.0 <= value <= 1.0:
        return FAILED, f"fitness {value!r} is outside [0, 1]"
    if type(fitness) is float and type(result.solved) is bool:
        return result, None
    return Assessment(value, bool(result.solved)), None


def scalar_outputs(problem: Problem, program: Callable[..., Any]) -> tuple[tuple[Any, ...], ...]:
    """Run a per-case program on every case (plain Python values) and return its output columns."""
    cases = problem.cases()
    n_out = len(problem.outputs)
    results = [program(*row) for row in cases.rows()]
    if n_out == 1:
        return (tuple(results),)
    columns: list[list[Any]] = [[] for _ in range(n_out)]
    for result in results:
        if not isinstance(result, Sequence) or len(result) != n_out:
            raise ValueError(f"program must return {n_out} outputs per case")
        for column, value in zip(columns, result, strict=True):
            column.append(value)
    return tuple(tuple(column) for column in columns)


def scalar_assess(problem: Problem, program: Callable[..., Any]) -> tuple[Assessment, str | None]:
    """Run a per-case program on every case and assess it safely (a raising program scores 0)."""
    try:
        with np.errstate(all="ignore"):
            outputs = scalar_outputs(problem, program)
    except Exception as exc:
        return FAILED, f"program raised {_reason(exc)}"
    return safe_assess(problem, outputs)
