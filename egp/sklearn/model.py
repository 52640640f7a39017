"""A fitted formula: the evolved program's Python source with its linear scaling, runnable on new rows.

The program is kept as text (the source `Executor.source` writes), never as a code object, so a fitted
estimator pickles and unpickles anywhere EGP is installed; the compiled function is cached per process.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from egp.genetic_code.codon_runtime import quiet_numpy

FloatArray = npt.NDArray[np.float64]

_FUNCTION = re.compile(r"^def (gc_[0-9a-f]+)\(", re.MULTILINE)


@dataclass(frozen=True)
class FittedProgram:
    """An evolved program and the least-squares scale and offset that map its output onto the target."""

    signature: str
    source: str
    offset: float
    slope: float
    codons: int

    def raw(self, X: FloatArray) -> FloatArray:
        """The program's own output on the rows of X (before scaling), one float per row."""
        function = compile_program(self.source)
        with quiet_numpy():
            value = function(*(np.ascontiguousarray(X[:, k]) for k in range(X.shape[1])))
            result = np.asarray(value, dtype=np.float64)
        if result.ndim == 0:
            return np.full(X.shape[0], float(result))
        return result

    def predict(self, X: FloatArray) -> FloatArray:
        """The scaled prediction offset + slope · program(X)."""
        if self.slope == 0.0:
            return np.full(X.shape[0], self.offset)
        with quiet_numpy():
            prediction: FloatArray = self.offset + self.slope * self.raw(X)
        return prediction


@functools.lru_cache(maxsize=256)
def compile_program(source: str) -> Callable[..., Any]:
    """The function a program's source defines (compiled once per process per source)."""
    found = _FUNCTION.search(source)
    if found is None:
        raise ValueError("program source defines no gc_ function")
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<egp program {found.group(1)}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[found.group(1)]
    return function
