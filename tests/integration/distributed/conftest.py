"""Fixtures for the distributed tests: a fresh Gene Pool, their own Redis database, real celery processes."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import text

from egp.client import Client
from egp.config import Settings, load_settings
from egp.db import dispose_engines, get_engine
from egp.jobs.process import reset_process_state
from egp.migrations import upgrade

# The distributed tests' own Redis database (the pool tests use 13, the checks 11 and 12).
REDIS_URL = os.environ.get("EGP_TEST_DISTRIBUTED_REDIS_URL", "redis://127.0.0.1:6379/14")
CELERY = str(Path(sys.executable).parent / "celery")
REPO_ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
# The test problems (poison_problems) load by `module:attribute` here and in the worker processes.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

LOCK_FILE = Path(tempfile.gettempdir()) / "egp-distributed-tests.lock"

# The same entry points and arguments as the compose services (hosts on 127.0.0.1).
COMMANDS = {
    "worker": ["-A", "workers.app", "worker", "-Q", "evolution"],
    "executor": ["-A", "executors.app", "worker", "-Q", "fitness"],
    "dbmanager": ["-A", "dbmanager.app", "worker", "-Q", "dbmanager", "-c", "1"],
    "beat": ["-A", "dbmanager.app", "beat"],
}


class Cluster:
    """Real celery processes of the EGP pools on one Gene Pool and one broker."""

    def __init__(self, gene_pool_url: str, log_dir: Path, broker_url: str = REDIS_URL, **env: str) -> None:
        self.url = gene_pool_url
        self.log_dir = log_dir
        self.run_id = uuid.uuid4().hex[:8]
        self.env = os.environ | {
            "EGP_BROKER_URL": broker_url,
            "EGP_RESULT_BACKEND": broker_url,
            "EGP_GENE_POOL_URL": gene_pool_url,
            "EGP_EPOCH_GENERATIONS": "10",
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        self.env.update(env)
        self.settings: Settings = load_settings(
            broker_url=broker_url,
            result_backend=broker_url,
            gene_pool_url=gene_pool_url,
            epoch_generations=10,
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, kind: str, *arguments: str) -> subprocess.Popen[bytes]:
        """Start a `kind` process (worker, executor, dbmanager, beat) named `name`."""
        extra = list(arguments)
        if kind == "beat":
            extra += ["-s", str(self.log_dir / f"{name}-schedule")]
        else:
            extra += ["-n", f"{name}-{self.run_id}@test", "--without-gossip", "--without-mingle"]
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [CELERY, *COMMANDS[kind], *extra, "-l", "info"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def children(self, name: str) -> list[int]:
        """The pool (child) processes of a prefork worker."""
        found = subprocess.run(
            ["pgrep", "-P", str(self.processes[name].pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in found.stdout.split()]

    def wait_ready(self, name: str, count: int = 1, deadline_s: float = 60.0) -> None:
        """Wait until the worker `name` has its pool processes and says it is ready."""
        log = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
            if "ready." in log.read_text() and len(self.children(name)) >= count:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready within {deadline_s}s: {log.read_text()[-2000:]}")

    def client(self) -> Client:
        """A client of this cluster."""
        return Client(self.settings)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process group (warm shutdown; killed if it does not stop)."""
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        """Stop every process started."""
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        """The tail of a process's log, for assertion messages."""
        return (self.log_dir / f"{name}.log").read_text()[-3000:]

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the Gene Pool."""
        with get_engine(self.url).connect() as connection:
            return list(connection.execute(text(sql), params).all())


@pytest.fixture
def make_cluster(
    create_postgres_database: Callable[[], str], tmp_path: Path
) -> Iterator[Callable[..., Cluster]]:
    """A factory of clusters, each on a new Gene Pool at head; every process is stopped at the end.

    The clusters share one Redis database, so test runs on this machine take turns (a file lock): a worker
    of another run would otherwise take this run's tasks.
    """
    lock = LOCK_FILE.open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    redis.Redis.from_url(REDIS_URL).flushdb()
    clusters: list[Cluster] = []

    def make(broker_url: str = REDIS_URL, **env: str) -> Cluster:
        """A cluster on a new database (no process started yet)."""
        url = create_postgres_database()
        upgrade(url)
        log_dir = tmp_path / f"cluster{len(clusters)}"
        log_dir.mkdir()
        cluster = Cluster(url, log_dir, broker_url, **env)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop_all()
    reset_process_state()
    dispose_engines()
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
