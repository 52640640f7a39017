"""The Gene Pool page's library sync state and quarantine, on a Postgres Gene Pool filled by a real run that
promoted its GCs to a library and pulled from it, where a hostile row planted in the library was
quarantined with its reason: the page and its JSON show both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from database_factory import PostgresDatabases
from sqlalchemy import text
from starlette.testclient import TestClient

from egp.api import evolve
from egp.config import DatabaseRole, Settings, load_settings
from egp.dashboard.app import create_app
from egp.db import get_engine
from egp.problems.registry import get_problem
from egp.storage.rows import GC_COLUMNS
from egp.storage.sync import prepare_database, promote, pull

# The planted row's graph: unbalanced, so it is refused as not valid JSON.
HOSTILE_GRAPH = '{"I":["float"],"O":[["I",0,"float"]]'
HOSTILE = bytes.fromhex("ee" * 32)


@pytest.fixture
def synced(postgres_store: PostgresDatabases) -> Iterator[tuple[str, str]]:
    """(pool, library): a pool filled by a real run, promoted to the library, then pulled from it after a
    hostile row with statistics on the run's problem was planted in the library."""
    library = postgres_store.at_head(DatabaseRole.LIBRARY)
    pool = postgres_store.at_head(DatabaseRole.POOL)
    prepare_database(library, load_settings())
    evolve("koza-quartic", population=40, generations=4, seed=3, gene_pool=pool, stop_when_solved=False)
    settings = _settings(library)
    assert promote(pool, settings).gcs_new > 0
    problem = get_problem("koza-quartic").identity
    with get_engine(library).begin() as connection:
        model = dict(
            connection.execute(
                text(f"SELECT {', '.join(GC_COLUMNS)} FROM genetic_codes WHERE gca IS NOT NULL LIMIT 1")
            )
            .mappings()
            .one()
        )
        row = model | {"signature": HOSTILE, "graph": HOSTILE_GRAPH}
        connection.execute(
            text(f"INSERT INTO genetic_codes ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"),
            row,
        )
        connection.execute(
            text(
                "INSERT INTO gc_problem_stats"
                " (signature, problem, fitness_total, fitness_count, survivability)"
                " VALUES (:s, :p, 1.0, 1, 1.0)"
            ),
            {"s": HOSTILE, "p": problem},
        )
    assert pull(pool, settings).quarantined == 1
    yield pool, library
    postgres_store.release()


def _settings(library: str) -> Settings:
    """Settings that promote every scored GC and pull everything scored."""
    return load_settings(library_urls=[library], promote_min_fitness=0.0, pull_best_per_problem=10_000)


def test_the_pool_page_shows_sync_state_and_quarantine_with_reasons(synced: tuple[str, str]) -> None:
    pool_url, library = synced
    with TestClient(create_app(pool_url), raise_server_exceptions=False) as client:
        pool = client.get("/api/pool").json()
        page = client.get("/pool").text
    (peer,) = pool["sync"]
    assert library.rsplit("/", 1)[1] in peer["peer"]
    assert peer["pushed_gcs"] > 0 and peer["last_push"] and peer["last_pull"] and not peer["pending"]
    quarantine = pool["quarantine"]
    assert quarantine["total"] == 1
    (row,) = quarantine["rows"]
    assert row["signature"] == HOSTILE.hex() and "not valid JSON" in row["reason"]
    assert row["received"] and library.rsplit("/", 1)[1] in row["source"]
    # The quarantine table names the row and why.
    assert "not valid JSON" in page and HOSTILE.hex()[:16] in page
    assert "This Gene Pool has not synchronised" not in page and "Nothing quarantined" not in page
