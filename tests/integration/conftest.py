"""Fixtures on real services: Postgres and Redis on 127.0.0.1, and real Celery worker subprocesses."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from celery_harness import KIND_OF_QUEUE, CeleryCluster
from database_factory import POSTGRES_ADMIN, PostgresDatabases

from egp.celery_config import Queue
from egp.migrations import upgrade

# A Redis database of its own, so test workers never see another deployment's queues.
REDIS_URL = os.environ.get("EGP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


INTEGRATION_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration/ `integration`, so `-m "not integration"` leaves them out."""
    for item in items:
        if INTEGRATION_DIR in item.path.parents:
            item.add_marker(pytest.mark.integration)


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
def postgres_store() -> Iterator[PostgresDatabases]:
    """The session's Postgres databases (database_factory.PostgresDatabases), all dropped at the end."""
    store = PostgresDatabases()
    yield store
    store.drop()


@pytest.fixture(scope="session")
def create_postgres_database(postgres_store: PostgresDatabases) -> Callable[[], str]:
    """Return a factory of new, empty, uniquely named Postgres databases; all are dropped at the end."""
    return postgres_store.create


@pytest.fixture
def postgres_url(create_postgres_database: Callable[[], str]) -> str:
    """A new, empty Postgres database for one test."""
    return create_postgres_database()


@pytest.fixture(scope="module")
def celery_pools(
    create_postgres_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryCluster]:
    """One real solo-pool worker per queue (named after it), on a fresh, migrated Postgres Gene Pool."""
    gene_pool_url = create_postgres_database()
    upgrade(gene_pool_url)
    log_dir = tmp_path_factory.mktemp("celery-logs")
    pools = CeleryCluster(gene_pool_url, log_dir, REDIS_URL, settings={"fitness_mode": "remote"})
    try:
        for queue in Queue:
            pools.start(str(queue), KIND_OF_QUEUE[queue], "-P", "solo")
        for queue in Queue:
            pools.wait_ready(str(queue), count=0)
        yield pools
    except RuntimeError as error:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(log_dir.glob("*.log")))
        pytest.fail(f"{error}\n{logs}")
    finally:
        pools.stop_all()
