"""Fixtures for the dashboard tests: SQLite and Postgres Gene Pools filled by real embedded runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from egp.api import evolve
from egp.engine.config import EvolutionResult
from egp.migrations import upgrade


@dataclass
class FilledPool:
    """A Gene Pool URL and the runs recorded in it."""

    url: str
    runs: list[EvolutionResult]


def fill(url: str) -> FilledPool:
    """Two real runs on `url`: a two-island quartic run to its generation budget and a parity run."""
    first = evolve(
        "koza-quartic",
        population=60,
        generations=12,
        islands=2,
        seed=5,
        gene_pool=url,
        stop_when_solved=False,
    )
    second = evolve("even-parity-3", population=80, generations=6, seed=2, gene_pool=url)
    return FilledPool(url, [first, second])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled_pool(
    request: pytest.FixtureRequest,
    create_postgres_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> FilledPool:
    """A Gene Pool of each backend at head, filled by real runs (shared by a module's tests)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("dashboard") / "pool.db"
        url = f"sqlite:///{path}"
    else:
        url = create_postgres_database()
    upgrade(url)
    return fill(url)
