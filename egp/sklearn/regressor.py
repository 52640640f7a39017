"""`EGPRegressor`: symbolic regression with EGP behind scikit-learn's estimator interface.

`fit(X, y)` builds a `TabularRegression` problem from the rows (a fixed share held out to choose the
returned program), evolves it embedded or as a distributed job, and keeps the chosen formula. Afterwards:
`program_` (the GC signature), `source_` (Python), `expression_` and `latex_` (the simplified formula, via
sympy), `history_` (per-generation figures) and the usual `n_features_in_` / `feature_names_in_`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from egp.engine.config import GenerationRecord
from egp.sklearn.base import FormulaEstimator


class EGPRegressor(RegressorMixin, FormulaEstimator):  # type: ignore[misc]
    """Evolves a formula y ≈ a + b·f(X) with EGP; every parameter is a run setting.

    Budgets: `generations`, `max_evaluations` and `max_time` (seconds); the first reached ends the run, and
    an exact fit ends it early. `gene_pool` is a Gene Pool URL (`sqlite:///file.db`, `postgresql://…`);
    fitting the same data again on it starts from what earlier fits found. `distributed=True` runs the fit as
    a job of the distributed stack that the EGP_* settings name (its Gene Pool, broker and workers); the
    workers read the table from `data_dir`, a directory they share with this process.
    """

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        progress: Callable[[GenerationRecord], None] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> EGPRegressor:
        """Evolve a formula for y from the columns of X; `progress` is called after every generation.

        `feature_names` name the columns in formulas when X is not a pandas DataFrame (which names its own).
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, ensure_min_samples=2)
        self._fit_formula(X, y, progress, feature_names)
        return self

    def predict(self, X: Any) -> np.ndarray[Any, Any]:
        """Predictions of the fitted formula for the rows of X."""
        check_is_fitted(self, "fitted_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.fitted_.predict(X)
