"""What EGP's scikit-learn estimators share: their settings, fitting a formula, and reading it back.

`_fit_formula(X, y)` builds a `TabularRegression` problem from the rows (a fixed share held out to choose
the returned program), evolves it embedded or as a distributed job, and keeps the chosen formula:
`program_` (the GC signature), `source_` (Python), `expression_` and `latex_` (the simplified formula, via
sympy) and `history_` (per-generation figures).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, check_random_state

from egp.engine.config import EvolutionError, GenerationRecord
from egp.problems.base import ProblemError
from egp.problems.tabular import DEFAULT_FUNCTION_SET, TabularRegression
from egp.sklearn.model import FittedProgram


class FormulaEstimator(BaseEstimator):  # type: ignore[misc]
    """The settings and the formula fit that EGPRegressor and EGPClassifier share (see EGPRegressor)."""

    def __init__(
        self,
        *,
        population: int = 500,
        generations: int = 100,
        max_evaluations: int | None = None,
        max_time: float | None = None,
        islands: int = 1,
        function_set: Sequence[str] | None = None,
        size_penalty: float = 0.0,
        max_codons: int = 64,
        validation_fraction: float = 0.25,
        random_state: Any = None,
        gene_pool: str | None = None,
        distributed: bool = False,
        data_dir: str | None = None,
    ) -> None:
        """Store the settings as given (scikit-learn convention: checked in `fit`)."""
        self.population = population
        self.generations = generations
        self.max_evaluations = max_evaluations
        self.max_time = max_time
        self.islands = islands
        self.function_set = function_set
        self.size_penalty = size_penalty
        self.max_codons = max_codons
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.gene_pool = gene_pool
        self.distributed = distributed
        self.data_dir = data_dir

    def _fit_formula(
        self,
        X: np.ndarray[Any, Any],
        y: np.ndarray[Any, Any],
        progress: Callable[[GenerationRecord], None] | None,
        feature_names: Sequence[str] | None,
    ) -> None:
        """Evolve and keep a formula for y (validated floats) from the columns of X (validated)."""
        self._check_settings()
        labels = getattr(self, "feature_names_in_", None) if feature_names is None else feature_names
        if labels is None:
            labels = [f"x{k}" for k in range(X.shape[1])]
        if len(labels) != X.shape[1]:
            raise ValueError(f"{len(labels)} feature names for {X.shape[1]} columns")
        self.feature_labels_ = tuple(str(name) for name in labels)
        try:
            problem = self._problem(X, y)
        except ProblemError as error:  # a bad function set or the like: scikit-learn's ValueError
            raise ValueError(str(error)) from None
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        settings: dict[str, Any] = {
            "population": self.population,
            "generations": self.generations,
            "seed": seed,
            "islands": self.islands,
            "max_evaluations": self.max_evaluations,
            "wall_seconds": self.max_time,
        }
        try:
            if self.distributed:
                from egp.sklearn.distributed import fit_distributed

                outcome = fit_distributed(problem, str(self.data_dir), **settings)
            else:
                outcome = self._fit_embedded(problem, settings, progress)
        except EvolutionError as error:
            raise ValueError(str(error)) from None
        self.fitted_: FittedProgram = outcome.program
        self.program_ = outcome.program.signature
        self.source_ = outcome.program.source
        self.history_ = outcome.history
        self.validation_score_ = outcome.validation_r2
        self.evaluations_ = outcome.result.evaluations
        self.seconds_ = outcome.result.seconds
        self.problem_name_ = problem.name

    def _fit_embedded(self, problem: TabularRegression, settings: dict[str, Any], progress: Any) -> Any:
        """Fit in this process, on the given Gene Pool URL or a fresh in-memory one."""
        from egp.api import open_pool
        from egp.sklearn.search import fit_program

        pool = open_pool(self.gene_pool if self.gene_pool is not None else "memory://")
        try:
            return fit_program(problem, pool, progress=progress, **settings)
        finally:
            pool.close()

    def _check_settings(self) -> None:
        """Raise ValueError naming the first setting out of range (the engine checks the rest)."""
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        if self.max_time is not None and not float(self.max_time) > 0:
            raise ValueError(f"max_time must be positive seconds, got {self.max_time!r}")
        if self.distributed and not self.data_dir:
            raise ValueError("distributed=True needs data_dir: a directory the workers can read too")
        if self.distributed and self.gene_pool is not None:
            raise ValueError(
                "distributed fits use the stack's Gene Pool (EGP_GENE_POOL_URL): leave gene_pool unset"
            )

    def _problem(self, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> TabularRegression:
        """The problem for these rows: training rows and, where there are enough, validation rows."""
        from egp.sklearn.search import validation_split

        features = list(self.feature_labels_)
        split = validation_split(X.shape[0], float(self.validation_fraction))
        function_set = tuple(self.function_set) if self.function_set is not None else DEFAULT_FUNCTION_SET
        common: dict[str, Any] = {
            "feature_names": features,
            "function_set": function_set,
            "size_penalty": self.size_penalty,
            "max_codons": self.max_codons,
        }
        if split is None:
            return TabularRegression(X, y, **common)
        train, held = split
        return TabularRegression(X[train], y[train], X_validation=X[held], y_validation=y[held], **common)

    @property
    def expression_(self) -> str:
        """The fitted formula, simplified (sympy), in the feature names."""
        from egp.sklearn.expression import formula

        check_is_fitted(self, "fitted_")
        return formula(self.fitted_, self._feature_names())

    @property
    def latex_(self) -> str:
        """The fitted formula in LaTeX."""
        from egp.sklearn.expression import latex

        check_is_fitted(self, "fitted_")
        return latex(self.fitted_, self._feature_names())

    def sympy_expression(self) -> Any:
        """The fitted formula as a sympy expression."""
        from egp.sklearn.expression import sympy_expression

        check_is_fitted(self, "fitted_")
        return sympy_expression(self.fitted_, self._feature_names())

    def _feature_names(self) -> list[str]:
        """The feature names of the fit (given, pandas column names, else x0, x1, …)."""
        return list(self.feature_labels_)
