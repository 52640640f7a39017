"""Fixtures on real services: Postgres and Redis on 127.0.0.1, and real Celery worker subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from egp.celery_config import Queue, make_app
from egp.config import Settings, load_settings
from egp.db import dispose_engines
from egp.migrations import upgrade

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# A Redis database of its own, so test workers never see another deployment's queues.
REDIS_URL = os.environ.get("EGP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY = str(Path(sys.executable).parent / "celery")
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def services_answer() -> None:
    """Fail fast, with what to start, when Postgres or Redis on 127.0.0.1 does not answer."""
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        pytest.fail(f"Postgres on 127.0.0.1:5432 does not answer ({error}); ./scripts/test starts it")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis on 127.0.0.1:6379 does not answer ({error}); ./scripts/test starts it")


@pytest.fixture(scope="session")
def create_postgres_database() -> Iterator[Callable[[], str]]:
    """Return a factory of new, empty, uniquely named Postgres databases; all are dropped at the end."""
    created: list[str] = []

    def create() -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = f"egp_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield create
    dispose_engines()  # close pooled connections so the databases can be dropped
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        for name in created:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(create_postgres_database: Callable[[], str]) -> str:
    """A new, empty Postgres database for one test."""
    return create_postgres_database()


class CeleryPools:
    """Three real `celery worker` subprocesses, one per queue, sharing a broker and a Gene Pool."""

    def __init__(self, gene_pool_url: str, run_id: str) -> None:
        self.gene_pool_url = gene_pool_url
        self.env = os.environ | {
            "EGP_BROKER_URL": REDIS_URL,
            "EGP_GENE_POOL_URL": gene_pool_url,
            "EGP_FITNESS_MODE": "remote",
        }
        self.env.pop("EGP_RESULT_BACKEND", None)
        self.settings: Settings = load_settings(broker_url=REDIS_URL, gene_pool_url=gene_pool_url)
        self.nodes = {queue: f"{queue}-{run_id}@test" for queue in Queue}
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, log_dir: Path) -> None:
        """Start one solo-pool worker per queue: evolution, fitness and a single dbmanager."""
        commands = {
            Queue.EVOLUTION: ["-A", "workers.app", "worker", "-Q", "evolution"],
            Queue.FITNESS: ["-A", "executors.app", "worker", "-Q", "fitness"],
            Queue.DBMANAGER: ["-A", "dbmanager.app", "worker", "-Q", "dbmanager", "-c", "1"],
        }
        for queue, arguments in commands.items():
            log = (log_dir / f"{queue}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    [
                        CELERY,
                        *arguments,
                        "-P",
                        "solo",
                        "-n",
                        self.nodes[queue],
                        "-l",
                        "info",
                        "--without-gossip",
                    ],
                    env=self.env,
                    cwd=REPO_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def wait_until_ready(self, deadline_s: float = 60.0) -> None:
        """Poll with broadcast pings until every worker answers."""
        app = make_app("test-client", Queue.EVOLUTION, self.settings)
        try:
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                if any(process.poll() is not None for process in self.processes):
                    raise RuntimeError("a celery worker exited during startup; see its log")
                replies = app.control.ping(destination=list(self.nodes.values()), timeout=0.5)
                answered = {node for reply in replies for node in reply}
                if answered >= set(self.nodes.values()):
                    return
            raise RuntimeError(f"celery workers did not answer within {deadline_s}s")
        finally:
            app.close()

    def stop(self) -> None:
        """Ask every worker for a warm shutdown, and kill any that does not stop."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def celery_pools(
    create_postgres_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryPools]:
    """Real workers on the three queues, using a fresh, migrated Postgres Gene Pool."""
    gene_pool_url = create_postgres_database()
    upgrade(gene_pool_url)
    pools = CeleryPools(gene_pool_url, uuid.uuid4().hex[:8])
    log_dir = tmp_path_factory.mktemp("celery-logs")
    pools.start(log_dir)
    try:
        pools.wait_until_ready()
        yield pools
    except RuntimeError as error:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(log_dir.iterdir()))
        pytest.fail(f"{error}\n{logs}")
    finally:
        pools.stop()
