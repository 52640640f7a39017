"""`EGPClassifier`: binary classification as a formula, the regression fit on the 0/1 labels.

The formula is fitted to the labels coded 0 and 1 exactly as `EGPRegressor` fits a target (least squares
after linear scaling, which is Fisher's discriminant direction for a linear formula); a logistic link
fitted on the training rows maps its output to a probability. `decision_function` is that link's log-odds,
so `predict`, `predict_proba` and `decision_function` always agree. Two classes only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from egp.engine.config import GenerationRecord
from egp.sklearn.base import FormulaEstimator


class EGPClassifier(ClassifierMixin, FormulaEstimator):  # type: ignore[misc]
    """A formula separating two classes, with EGPRegressor's settings (see there)."""

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        progress: Callable[[GenerationRecord], None] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> EGPClassifier:
        """Evolve a formula whose output separates the two classes of y; `progress` as for EGPRegressor."""
        X, y = validate_data(self, X, y, ensure_min_samples=2, dtype=np.float64)
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y", raise_unknown=True)
        if kind != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {kind}.")
        self.classes_ = np.unique(y)
        positive = (y == self.classes_[-1]).astype(np.float64)
        if len(self.classes_) == 1:
            # One class: nothing to separate; the formula is the constant and every row gets that class.
            positive = np.ones_like(positive)
        self._fit_formula(X, positive, progress, feature_names)
        self.link_ = _fit_link(self.fitted_.predict(X), positive)
        return self

    def decision_function(self, X: Any) -> np.ndarray[Any, Any]:
        """The log-odds of the second class for each row of X."""
        check_is_fitted(self, "fitted_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        slope, intercept = self.link_
        with np.errstate(all="ignore"):
            logit: np.ndarray[Any, Any] = slope * self.fitted_.predict(X) + intercept
        finite: np.ndarray[Any, Any] = np.nan_to_num(logit, nan=0.0, posinf=1e300, neginf=-1e300)
        return finite

    def predict_proba(self, X: Any) -> np.ndarray[Any, Any]:
        """The probability of each class (columns in the order of `classes_`) for each row of X."""
        logit = self.decision_function(X)
        second = 0.5 * (1.0 + np.tanh(0.5 * np.clip(logit, -700.0, 700.0)))  # the logistic function, stably
        if len(self.classes_) == 1:
            return np.ones((len(logit), 1))
        return np.column_stack([1.0 - second, second])

    def predict(self, X: Any) -> np.ndarray[Any, Any]:
        """The predicted class of each row of X."""
        logit = self.decision_function(X)
        if len(self.classes_) == 1:
            return np.full(len(logit), self.classes_[0])
        labels: np.ndarray[Any, Any] = self.classes_[(logit > 0.0).astype(int)]
        return labels

    def __sklearn_tags__(self) -> Any:
        """Binary only: scikit-learn's checks then leave out the multi-class data sets."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


def _fit_link(score: np.ndarray[Any, Any], positive: np.ndarray[Any, Any]) -> tuple[float, float]:
    """The logistic link (slope, intercept) from the formula's output to the probability of class 1."""
    from sklearn.linear_model import LogisticRegression

    if positive.min() == positive.max() or not np.all(np.isfinite(score)) or np.ptp(score) == 0.0:
        # No spread to calibrate: the formula's own 0.5 threshold, with a unit slope.
        return 1.0, -0.5
    model = LogisticRegression(C=1e4).fit(score.reshape(-1, 1), positive.astype(int))
    slope = float(model.coef_[0, 0])
    if slope <= 0.0:  # a link may not reverse the formula's order (the formula already points to class 1)
        return 1.0, -0.5
    return slope, float(model.intercept_[0])
