"""Exact statistics on real Postgres: the same deltas written in any order and grouping, locally and through
push to a library, give totals equal with `==` (no tolerance), and migration 0009 keeps existing values."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from egp.config import DatabaseRole, load_settings
from egp.db import get_engine
from egp.engine.gene_pool import PgcStats, ProblemStats
from egp.storage.exact_stats import from_units, to_units
from egp.storage.sql_pool import SQLGenePool
from egp.storage.sync import promote

from .conftest import make_gcs

PROBLEM = hashlib.sha256(b"exact statistics problem").digest()
GCS = make_gcs(3, seed=61)
# Statistics travel upstream with their GC: the deltas are on real, stored GCs.
SIGNATURES = [g.signature for g in GCS if g.codon is None][:3]
Factory = Callable[[DatabaseRole], str]
VALUES = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False)
DELTA = st.tuples(st.integers(0, len(SIGNATURES) - 1), VALUES, VALUES, VALUES)


def _totals(url: str) -> dict[str, list[Any]]:
    """Every statistics row, as stored (Decimals on Postgres), keyed by table."""
    with get_engine(url).connect() as connection:
        return {
            "stats": connection.execute(
                text(
                    "SELECT signature, fitness_total, fitness_count, evolvability_total, evolvability_count,"
                    " descendants FROM gc_problem_stats ORDER BY signature"
                )
            ).all(),
            "pgc": connection.execute(
                text(
                    "SELECT signature, layer, fitness_total, fitness_count, evolvability_total,"
                    " evolvability_count FROM pgc_stats ORDER BY signature, layer"
                )
            ).all(),
        }


def _clear(*urls: str) -> None:
    """Empty the statistics and sync state of each database."""
    for url in urls:
        with get_engine(url).begin() as connection:
            for table in ("gc_problem_stats", "pgc_stats", "sync_state", "problems"):
                connection.execute(text(f"DELETE FROM {table}"))


def _write(url: str, groups: list[list[tuple[int, float, float, float]]]) -> None:
    """Each group in one transaction, one delta per statement (as epochs write them)."""
    pool = SQLGenePool(url)
    for group in groups:
        with pool.transaction() as connection:
            pool.ensure_problem(connection, PROBLEM)
            for k, fitness, evolvability, _ in group:
                pool.add_stats(
                    connection, PROBLEM, {SIGNATURES[k]: ProblemStats(fitness, 1, evolvability, 1)}
                )
                pool.add_pgc_stats(connection, {(SIGNATURES[k], 1): PgcStats(fitness, 1, evolvability, 1)})


def _grouped(items: list[Any], cuts: list[int]) -> list[list[Any]]:
    """`items` cut at `cuts` (sorted positions) into consecutive groups."""
    bounds = sorted(set(cuts))
    return [items[a:b] for a, b in zip([0, *bounds], [*bounds, len(items)], strict=True) if items[a:b]]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(DELTA, min_size=1, max_size=25), st.randoms(use_true_random=False), st.data())
def test_any_order_and_grouping_of_deltas_gives_equal_totals(
    postgres_databases: Factory, deltas: list[tuple[int, float, float, float]], rng: random.Random, data: Any
) -> None:
    """Written in order one by one, or shuffled in random transactions: totals equal with `==`, and equal the
    sum of each delta's units."""
    if not hasattr(test_any_order_and_grouping_of_deltas_gives_equal_totals, "urls"):
        test_any_order_and_grouping_of_deltas_gives_equal_totals.urls = [  # type: ignore[attr-defined]
            postgres_databases(DatabaseRole.POOL) for _ in range(2)
        ]
    first, second = test_any_order_and_grouping_of_deltas_gives_equal_totals.urls  # type: ignore[attr-defined]
    _clear(first, second)
    _write(first, [[d] for d in deltas])
    shuffled = deltas[:]
    rng.shuffle(shuffled)
    _write(second, _grouped(shuffled, data.draw(st.lists(st.integers(0, len(deltas)), max_size=5))))
    assert _totals(first) == _totals(second)
    pool = SQLGenePool(first)
    got = pool.problem_stats(PROBLEM, SIGNATURES)
    for k, signature in enumerate(SIGNATURES):
        mine = [d for d in deltas if d[0] == k]
        if mine:
            assert got[signature].fitness_total == from_units(sum(to_units(d[1]) for d in mine))
            assert got[signature].evolvability_total == from_units(sum(to_units(d[2]) for d in mine))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(DELTA, min_size=2, max_size=10), st.randoms(use_true_random=False), st.data())
def test_library_totals_equal_the_exact_sum_of_two_pools_deltas_in_any_push_order(
    postgres_databases: Factory, deltas: list[tuple[int, float, float, float]], rng: random.Random, data: Any
) -> None:
    """Two pools share the deltas between them and push after random groups, interleaved at random: the
    library's totals are the exact sum of every delta, whatever the order of the pushes."""
    test = test_library_totals_equal_the_exact_sum_of_two_pools_deltas_in_any_push_order
    if not hasattr(test, "urls"):
        test.urls = [
            postgres_databases(role)
            for role in (DatabaseRole.LIBRARY, DatabaseRole.POOL, DatabaseRole.POOL, DatabaseRole.POOL)
        ]  # type: ignore[attr-defined]
    library, a, b, alone = test.urls  # type: ignore[attr-defined]
    _clear(library, a, b, alone)
    for url in (a, b, alone):
        SQLGenePool(url).put_many(GCS)
    shares = [data.draw(st.booleans()) for _ in deltas]
    plan = [
        (url, group)
        for url, part in (
            (a, [d for d, s in zip(deltas, shares, strict=True) if s]),
            (b, [d for d, s in zip(deltas, shares, strict=True) if not s]),
        )
        for group in _grouped(part, data.draw(st.lists(st.integers(0, len(part)), max_size=3)))
    ]
    rng.shuffle(plan)
    config = load_settings(library_urls=[library], promote_min_fitness=-1e9, promote_min_evaluations=1)
    for url, group in plan:
        _write(url, [group])
        promote(url, config)
    for url in (a, b):
        promote(url, config)
    _write(alone, [[d] for d in deltas])  # every delta in one pool, in the original order
    library_totals, alone_totals = _totals(library), _totals(alone)
    assert library_totals["stats"] == alone_totals["stats"]
    assert library_totals["pgc"] == alone_totals["pgc"]
