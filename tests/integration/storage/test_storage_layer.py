"""The storage layer's shared parts: data tables from the models, the schema check at open, advisory locks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from egp.config import DatabaseRole
from egp.db import get_engine
from egp.engine.evaluation import Score
from egp.jobs.fitness import write_results
from egp.migrations import alembic_config, upgrade
from egp.storage.locks import lock_key, try_advisory_lock
from egp.storage.models import Base
from egp.storage.schema import SchemaNotAtHeadError, data_tables
from egp.storage.sql_pool import SQLGenePool, open_gene_pool

from .conftest import empty

PROBLEM = hashlib.sha256(b"storage layer problem").digest()


def test_data_tables_are_the_models_tables_but_meta() -> None:
    """Every model table holding data is listed, fitness_results included; the meta row is not data."""
    tables = data_tables()
    assert set(tables) == set(Base.metadata.tables) - {"meta"}
    assert "fitness_results" in tables and "meta" not in tables


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_counts_and_cleanup_cover_fitness_results(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], sqlite_url: str
) -> None:
    """counts() reports fitness_results rows, and emptying a database by data_tables() removes them."""
    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else sqlite_url
    pool = SQLGenePool(url)
    assert pool.counts()["fitness_results"] == 0
    scores = {bytes([k]) * 32: Score(0.5, False, None) for k in range(3)}
    assert write_results(pool, PROBLEM, scores, "job-1", "worker-1") == 3
    counts = pool.counts()
    assert counts["fitness_results"] == 3 and set(counts) == set(data_tables())
    empty(url)
    assert pool.counts()["fitness_results"] == 0


def _below_head(tmp_path: Path) -> str:
    """A SQLite database migrated to revision 0001 only."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config()
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    return url


def test_a_pool_below_head_is_refused_at_open(tmp_path: Path) -> None:
    """SQLGenePool(url) raises the schema error naming `egp db upgrade`; check=False opens it for migration
    code; once upgraded the same URL opens."""
    url = _below_head(tmp_path)
    with pytest.raises(SchemaNotAtHeadError, match="egp db upgrade"):
        SQLGenePool(url)
    with pytest.raises(SchemaNotAtHeadError):
        SQLGenePool(url)  # a failed check is not remembered
    assert SQLGenePool(url, check=False).url.endswith("old.db")
    upgrade(url)
    assert SQLGenePool(url).counts()["genetic_codes"] == 0


def test_open_gene_pool_brings_an_embedded_file_to_head(tmp_path: Path) -> None:
    """The embedded default (a SQLite file) is upgraded at open rather than refused."""
    url = _below_head(tmp_path)
    assert isinstance(open_gene_pool(url), SQLGenePool)


def test_advisory_lock_has_one_holder_on_postgres(postgres_databases: Callable[[DatabaseRole], str]) -> None:
    """A second holder of the same key is refused while the first holds it; other keys are free; released
    at the end of the block."""
    pool = SQLGenePool(postgres_databases(DatabaseRole.POOL))
    key, other = lock_key("test:one"), lock_key("test:two")
    with try_advisory_lock(pool, key) as first:
        assert first
        with try_advisory_lock(pool.engine, key) as second:
            assert not second
        with try_advisory_lock(pool, other) as unrelated:
            assert unrelated
    with try_advisory_lock(pool, key) as again:
        assert again


def test_advisory_lock_is_always_granted_on_sqlite(sqlite_url: str) -> None:
    """SQLite has no advisory locks (one writer at a time anyway): every holder is granted."""
    pool = SQLGenePool(sqlite_url)
    key = lock_key("test:one")
    with try_advisory_lock(pool, key) as first, try_advisory_lock(pool.engine, key) as second:
        assert first and second


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_run_stores_its_problem_name(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], sqlite_url: str
) -> None:
    """An embedded run stores the problem's name with its identity, and a later nameless write keeps it."""
    from egp import evolve
    from egp.problems.registry import get_problem

    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else sqlite_url
    evolve("koza-quartic", seed=1, population=50, generations=2, gene_pool=url)
    identity = get_problem("koza-quartic").identity
    pool = SQLGenePool(url)
    with pool.transaction() as connection:
        pool.ensure_problem(connection, identity)  # a write that does not know the name
    with pool.engine.connect() as connection:
        rows = connection.execute(text("SELECT identity, name FROM problems")).all()
    assert [(bytes(identity_), name) for identity_, name in rows] == [(identity, "koza-quartic")]
