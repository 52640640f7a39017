"""EGP behind scikit-learn's estimator interface: `EGPRegressor` and `EGPClassifier` (two classes)."""

from egp.sklearn.classifier import EGPClassifier
from egp.sklearn.regressor import EGPRegressor

__all__ = ["EGPClassifier", "EGPRegressor"]
