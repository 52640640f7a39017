"""EGPRegressor(distributed=True): a fit run as a job on real worker processes, reading a shared table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from egp.config import get_settings
from egp.sklearn import EGPRegressor

from .conftest import CeleryCluster


@pytest.mark.slow
def test_a_distributed_fit_recovers_a_formula(
    make_cluster: Callable[..., CeleryCluster], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two islands on a two-process worker fit y = 3·x0·x1 + 2 from a table in a shared directory."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    for key in ("EGP_BROKER_URL", "EGP_RESULT_BACKEND", "EGP_GENE_POOL_URL", "EGP_EPOCH_GENERATIONS"):
        monkeypatch.setenv(key, cluster.env[key])
    get_settings.cache_clear()
    try:
        rng = np.random.default_rng(4)
        X = rng.uniform(-2, 2, (120, 2))
        y = 3.0 * X[:, 0] * X[:, 1] + 2.0
        model = EGPRegressor(
            population=100,
            generations=200,
            islands=2,
            random_state=3,
            distributed=True,
            data_dir=str(tmp_path),
        )
        model.fit(X, y)
    finally:
        get_settings.cache_clear()
    assert model.score(X, y) >= 0.999, cluster.log("worker")
    assert list(tmp_path.glob("*.npz")), "the table was not saved for the workers"
    assert cluster.query("SELECT count(*) FROM jobs")[0][0] == 1
    assert {entry["island"] for entry in model.history_} == {0, 1}
    assert model.validation_score_ is not None and model.validation_score_ >= 0.999
