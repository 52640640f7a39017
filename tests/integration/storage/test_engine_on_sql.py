"""The engine runs unchanged on the SQL Gene Pool: the same seed gives the same run as in memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from egp.api import evolve
from egp.config import DatabaseRole
from egp.db import get_engine


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_evolve_matches_memory(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], tmp_path: Path
) -> None:
    """koza-quartic, a short run: best GC, fitness and evaluation count equal the in-memory run's."""
    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else f"sqlite:///{tmp_path / 'p.db'}"
    options = {"population": 40, "generations": 40, "seed": 3}
    reference = evolve("koza-quartic", gene_pool="memory://", **options)
    stored = evolve("koza-quartic", gene_pool=url, **options)
    assert (stored.best_signature, stored.best_fitness, stored.evaluations) == (
        reference.best_signature,
        reference.best_fitness,
        reference.evaluations,
    )
    with get_engine(url).connect() as connection:
        gcs = connection.execute(text("SELECT count(*) FROM genetic_codes")).scalar_one()
        scored = connection.execute(text("SELECT count(*) FROM gc_problem_stats")).scalar_one()
        best = connection.execute(
            text("SELECT count(*) FROM genetic_codes WHERE signature = :s"),
            {"s": bytes.fromhex(stored.best_signature)},
        ).scalar_one()
    assert gcs > 0 and scored > 0 and best == 1
