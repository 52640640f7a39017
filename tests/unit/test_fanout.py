"""Batch sizing of remote fitness from the measured costs (egp.jobs.fanout)."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from egp.config import load_settings
from egp.jobs.fanout import BATCHES_PER_EXECUTOR, HOP_SHARE, CostModel, RemoteFitness, job_costs
from egp.migrations import upgrade
from egp.storage.sql_pool import SQLGenePool


def test_batches_use_the_setting_until_costs_are_measured(tmp_path: Path) -> None:
    """Nothing measured yet: batches of fitness_batch_size."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade(url)
    settings = load_settings(gene_pool_url=url, fitness_batch_size=37)
    remote = RemoteFitness(settings, "job-unmeasured", "koza-quartic", lambda args: None, SQLGenePool(url))
    assert remote.batch_size(500) == 37


@given(
    evaluation=st.floats(1e-6, 1.0),
    hop=st.floats(0.0, 1.0),
    count=st.integers(1, 5000),
    executors=st.integers(1, 16),
    largest=st.integers(1, 500),
)
def test_a_batch_amortises_its_hop_or_spreads_the_work(
    evaluation: float, hop: float, count: int, executors: int, largest: int
) -> None:
    """Within [1, fitness_batch_size]; otherwise large enough that the hop is at most HOP_SHARE of its
    scoring time, and no smaller than an even share per executor."""
    remote = RemoteFitness.__new__(RemoteFitness)
    remote.settings = load_settings(fitness_batch_size=largest)
    remote.cost = CostModel(evaluation, hop, {f"executor/{k}" for k in range(executors)})
    size = remote.batch_size(count)
    assert 1 <= size <= largest
    if size < largest:
        assert hop <= HOP_SHARE * evaluation * size * (1 + 1e-9)
        assert size >= math.ceil(count / (BATCHES_PER_EXECUTOR * executors))


def test_costs_are_measured_from_batch_results_and_kept_per_job() -> None:
    """A batch's scoring time per GC and its round trip less scoring and start-up make the averages; a
    job's later epoch tasks in the process start from them."""
    costs = job_costs("job-costs")
    costs.observe({"scored": 10, "seconds": 0.05, "setup_s": 0.5, "executor": "e/1"}, round_trip=0.6)
    assert math.isclose(costs.evaluation_s or 0, 0.005) and math.isclose(costs.hop_s or 0, 0.05)
    costs.observe({"scored": 10, "seconds": 0.15, "executor": "e/2"}, round_trip=None)
    assert math.isclose(costs.evaluation_s or 0, 0.7 * 0.005 + 0.3 * 0.015)
    assert costs.executors == {"e/1", "e/2"}
    assert job_costs("job-costs") is costs and job_costs("another") is not costs
