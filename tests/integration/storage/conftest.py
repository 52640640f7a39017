"""Fixtures for the storage tests: reused Postgres databases at head, SQLite files, test GCs."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from database_factory import PostgresDatabases, empty

from egp.config import DatabaseRole
from egp.genetic_code.assembly import Assembler, random_expression
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES
from egp.migrations import upgrade

FLOAT = TYPES.uid("float")


@pytest.fixture
def postgres_databases(postgres_store: PostgresDatabases) -> Iterator[Callable[[DatabaseRole], str]]:
    """A factory of empty Postgres databases at head for one test (reused by the module's next tests)."""
    yield postgres_store
    postgres_store.release()


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


__all__ = ["FLOAT", "PostgresDatabases", "empty", "make_gcs"]
