"""Real workers on every queue answer their health task, and `egp status` sees them all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery_harness import CeleryCluster

from egp.celery_config import Queue, health_task_name, make_app

EGP = str(Path(sys.executable).parent / "egp")


@pytest.mark.parametrize("queue", list(Queue))
def test_health_task_round_trips_on_each_queue(celery_pools: CeleryCluster, queue: Queue) -> None:
    """`<queue>.health`, routed by name, is answered by that queue's worker, which reaches the Gene Pool."""
    app = make_app("test-client", Queue.EVOLUTION, celery_pools.settings)
    try:
        result = app.send_task(health_task_name(queue))
        report = result.get(timeout=30)
        result.forget()
    finally:
        app.close()
    assert report["queue"] == queue
    assert report["pid"] > 0 and report["hostname"]
    assert report["gene_pool"]["ok"] is True
    assert report["gene_pool"]["state"] == "current"
    assert report["gene_pool"]["role"] == "pool"
    # Several test runs may share the broker; ours answer unless another run's worker got there first.
    assert report["worker"].startswith(f"{queue}-")


@pytest.mark.slow
def test_status_reports_the_three_pools_alive(celery_pools: CeleryCluster, tmp_path: Path) -> None:
    """`egp status --json` exits 0 and lists our worker under each queue, each with a healthy Gene Pool."""
    result = subprocess.run(
        [EGP, "status", "--json", "--timeout", "3"],
        env=celery_pools.env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["mode"] == "distributed" and report["broker"]["ok"]
    assert report["gene_pool"]["state"] == "current"
    for queue in Queue:
        entry = report["queues"][queue]
        assert entry["alive"] and entry["required"]
        assert celery_pools.nodes[queue] in entry["workers"]
        assert entry["health"]["gene_pool"]["ok"] is True


def test_status_fails_in_one_line_when_the_broker_is_down(tmp_path: Path) -> None:
    """With the broker on a closed port, `egp status` exits non-zero with one line naming it."""
    env = os.environ | {
        "EGP_BROKER_URL": "redis://127.0.0.1:6390/0",
        "EGP_GENE_POOL_URL": "sqlite:///pool.db",
    }
    result = subprocess.run(
        [EGP, "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: broker redis://127.0.0.1:6390/0 is unreachable: ")
