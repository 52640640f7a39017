"""Fixtures for the distributed tests: a fresh Gene Pool, their own Redis database, real celery processes."""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery_harness import REPO_ROOT, CeleryCluster

from egp.db import dispose_engines
from egp.jobs.process import reset_process_state
from egp.migrations import upgrade

# The distributed tests' own Redis database (the pool tests use 13, the checks 11 and 12).
REDIS_URL = os.environ.get("EGP_TEST_DISTRIBUTED_REDIS_URL", "redis://127.0.0.1:6379/14")
HERE = Path(__file__).resolve().parent
# The test problems (poison_problems) load by `module:attribute` here and in the worker processes.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LOCK_FILE = Path(tempfile.gettempdir()) / "egp-distributed-tests.lock"

__all__ = ["REDIS_URL", "REPO_ROOT", "CeleryCluster"]


@pytest.fixture
def make_cluster(
    create_postgres_database: Callable[[], str], tmp_path: Path
) -> Iterator[Callable[..., CeleryCluster]]:
    """A factory of clusters, each on a new Gene Pool at head; every process is stopped at the end.

    The clusters share one Redis database, so test runs on this machine take turns (a file lock): a worker
    of another run would otherwise take this run's tasks.
    """
    lock = LOCK_FILE.open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    redis.Redis.from_url(REDIS_URL).flushdb()
    clusters: list[CeleryCluster] = []

    def make(broker_url: str = REDIS_URL, **env: str) -> CeleryCluster:
        """A cluster on a new database (no process started yet); 10-generation epochs unless `env` says."""
        url = create_postgres_database()
        upgrade(url)
        log_dir = tmp_path / f"cluster{len(clusters)}"
        log_dir.mkdir()
        cluster = CeleryCluster(
            url, log_dir, broker_url, settings={"epoch_generations": 10}, pythonpath=(HERE,), **env
        )
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop_all()
    reset_process_state()
    dispose_engines()
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
