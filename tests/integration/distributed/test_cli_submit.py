"""`egp job submit` with the typed run-settings options, on a real worker: the job runs what was typed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from celery_harness import CeleryCluster

EGP = str(Path(sys.executable).parent / "egp")


@pytest.mark.slow
def test_typed_options_and_set_reach_the_job(
    make_cluster: Callable[..., CeleryCluster], tmp_path: Path
) -> None:
    """Typed options and a --set (the older spelling) together make the job's spec; it runs to its budget."""
    cluster = make_cluster()
    cluster.start("worker", "worker", "-c", "2")
    cluster.wait_ready("worker", 2)
    command = [
        EGP, "job", "submit", "koza-quartic", "--population", "40", "--generations", "6", "--islands", "2",
        "--epoch-generations", "3", "--no-stop-when-solved", "--seed", "5", "--set", "migrants=1",
        "--wait", "--json",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path, env=cluster.env)
    assert done.returncode == 0, done.stderr + cluster.log("worker")
    info = json.loads(done.stdout.strip().splitlines()[-1])
    spec = info["spec"]
    assert (spec["population"], spec["generations"], spec["islands"]) == (40, 6, 2)
    assert [spec[k] for k in ("epoch_generations", "stop_when_solved", "seed", "migrants")] == [
        3,
        False,
        5,
        1,
    ]
    assert info["status"] == "finished" and info["progress"]["generation"] == 6
    # Two islands, 6 generations each in epochs of 3: the initial population (epoch -1), then epochs 0 and 1.
    epochs = sorted((h["island"], h["epoch"]) for h in info["history"])
    assert epochs == [(i, e) for i in (0, 1) for e in (-1, 0, 1)]
