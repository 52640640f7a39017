"""Fixtures for the storage tests: uniquely named Postgres databases per module, SQLite files, test GCs."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from egp.config import DatabaseRole
from egp.db import dispose_engines, get_engine
from egp.genetic_code.assembly import Assembler, random_expression
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES
from egp.migrations import upgrade
from egp.storage.schema import data_tables

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FLOAT = TYPES.uid("float")


class PostgresDatabases:
    """Uniquely named Postgres databases at head, reused (emptied) between the tests of one module.

    Creating and dropping a database costs a checkpoint each (seconds on a small machine); emptying the
    tables of one already migrated costs milliseconds.
    """

    def __init__(self) -> None:
        self.created: list[str] = []
        self.free: dict[DatabaseRole, list[str]] = {}
        self.taken: list[tuple[DatabaseRole, str]] = []

    def __call__(self, role: DatabaseRole = DatabaseRole.POOL) -> str:
        """A database with `role`, empty of data rows, at head."""
        free = self.free.setdefault(role, [])
        if free:
            url = empty(free.pop())
        else:
            name = f"egp_test_storage_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            upgrade(url, role)
        self.taken.append((role, url))
        return url

    def release(self) -> None:
        """Make every database handed out so far available again."""
        for role, url in self.taken:
            self.free.setdefault(role, []).append(url)
        self.taken.clear()

    def drop(self) -> None:
        """Drop every database this object created."""
        dispose_engines()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
            for name in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[PostgresDatabases]:
    """The storage tests' Postgres databases, dropped at the end of the session."""
    store = PostgresDatabases()
    yield store
    store.drop()


@pytest.fixture
def postgres_databases(postgres_store: PostgresDatabases) -> Iterator[Callable[[DatabaseRole], str]]:
    """A factory of empty Postgres databases at head for one test (reused by the module's next tests)."""
    yield postgres_store
    postgres_store.release()


def empty(url: str) -> str:
    """Delete every data row (not meta or the schema revision) from the database at `url`; return the URL."""
    with get_engine(url).begin() as connection:
        for table in data_tables():
            connection.execute(text(f"DELETE FROM {table}"))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite Gene Pool file at head."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade(url)
    return url


def make_gcs(count: int, seed: int, size: int = 4) -> list[GeneticCode]:
    """`count` distinct random float GCs (float, float → float) and all their sub-GCs, sub-GCs first."""
    registry = codon_registry()
    functions = [registry.by_name(n) for n in ("float_add", "float_sub", "float_mul", "float_pdiv")]
    terminals = [registry.by_name(n) for n in ("lit_float_1", "lit_float_2")]
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [FLOAT, FLOAT])
    rng = random.Random(seed)
    tops: set[bytes] = set()
    while len(tops) < count:
        expr = random_expression(rng, functions, [FLOAT, FLOAT], FLOAT, rng.randint(2, size), terminals)
        tops.add(assembler.assemble(expr).signature)
    return list(store.values())  # insertion order: every sub-GC before the GCs that use it
