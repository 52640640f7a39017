"""EGP behind scikit-learn's estimator interface: `EGPRegressor` (symbolic regression)."""

from egp.sklearn.regressor import EGPRegressor

__all__ = ["EGPRegressor"]
