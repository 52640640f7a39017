"""A library hierarchy on real Postgres: pools → biomes → biosphere and back down, a DB manager killed between
the two halves of a push, and a biome that is down for a while. Every total is compared with `==` against
the exact sum of the deltas the test wrote (integer units of exact_stats, summed independently here)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery_harness import CeleryCluster
from sqlalchemy import text

from egp.celery_config import Queue, make_app
from egp.config import DatabaseRole, Settings, load_settings
from egp.db import dispose_engines, get_engine
from egp.engine.gene_pool import EpochRecord, PgcStats, ProblemStats
from egp.genetic_code.gc import GeneticCode
from egp.storage.exact_stats import stored_units, to_units
from egp.storage.sql_pool import SQLGenePool
from egp.storage.sync import promote, pull

from .conftest import make_gcs

PROBLEM = hashlib.sha256(b"hierarchy problem").digest()
Factory = Callable[[DatabaseRole], str]
REDIS_URL = os.environ.get("EGP_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# The additive statistics: (column, exact) — exact ones are fixed-point units, the others counts.
STATS = (
    ("fitness_total", True),
    ("fitness_count", False),
    ("evolvability_total", True),
    ("evolvability_count", False),
    ("descendants", False),
)
PGC = (
    ("fitness_total", True),
    ("fitness_count", False),
    ("evolvability_total", True),
    ("evolvability_count", False),
)
# Every scored GC is promoted: the top of the hierarchy must hold the sum of every delta written below.
SETTINGS = load_settings(promote_min_fitness=-1e9, pull_best_per_problem=1000)


class Ledger:
    """The deltas the test wrote, summed exactly (units and counts): what every total must equal."""

    def __init__(self) -> None:
        """Nothing written yet."""
        self.stats: dict[bytes, list[int]] = {}
        self.pgc: dict[tuple[bytes, int], list[int]] = {}
        self.epochs = 0

    def epoch(self, url: str, rng: random.Random, shared: list[GeneticCode], best: float = 0.0) -> bytes:
        """Write one epoch of own and shared GCs with random statistic deltas to the pool at `url`; return
        its top GC's signature (mean fitness `best` when given)."""
        self.epochs += 1
        own = make_gcs(4, seed=rng.randrange(10**9))
        gcs = [*shared, *own]
        tops = [g for g in gcs if g.codon is None]
        deltas = {
            g.signature: ProblemStats(
                rng.uniform(0.0, 0.9),
                rng.randint(1, 3),
                rng.uniform(-1.0, 1.0),
                rng.randint(0, 2),
                0.0,
                rng.randint(0, 2),
            )
            for g in tops
        }
        top = own[-1].signature
        if best:
            deltas[top] = ProblemStats(best, 1)
        pgc = {(tops[0].signature, 1): PgcStats(rng.uniform(0, 1), 1, rng.uniform(0, 1), 1)}
        SQLGenePool(url).record_epoch(
            EpochRecord(problem=PROBLEM, new_gcs=gcs, problem_stats=deltas, pgc_stats=pgc)
        )
        for signature, d in deltas.items():
            row = self.stats.setdefault(signature, [0] * len(STATS))
            for k, value in enumerate(
                (d.fitness_total, d.fitness_count, d.evolvability_total, d.evolvability_count, d.descendants)
            ):
                row[k] += to_units(value) if STATS[k][1] else int(value)
        for key, p in pgc.items():
            row = self.pgc.setdefault(key, [0] * len(PGC))
            for k, value in enumerate(
                (p.fitness_total, p.fitness_count, p.evolvability_total, p.evolvability_count)
            ):
                row[k] += to_units(value) if PGC[k][1] else int(value)
        return top


def totals(url: str) -> tuple[dict[bytes, list[int]], dict[tuple[bytes, int], list[int]]]:
    """The database's statistics as exact units and counts (problem PROBLEM; pGC rows by layer)."""
    with get_engine(url).connect() as connection:
        stats = {
            bytes(r[0]): [
                stored_units(v) if exact else int(v) for v, (_, exact) in zip(r[1:], STATS, strict=True)
            ]
            for r in connection.execute(
                text(
                    f"SELECT signature, {', '.join(c for c, _ in STATS)} FROM gc_problem_stats"
                    " WHERE problem = :p"
                ),
                {"p": PROBLEM},
            )
        }
        pgc = {
            (bytes(r[0]), int(r[1])): [
                stored_units(v) if exact else int(v) for v, (_, exact) in zip(r[2:], PGC, strict=True)
            ]
            for r in connection.execute(
                text(f"SELECT signature, layer, {', '.join(c for c, _ in PGC)} FROM pgc_stats")
            )
        }
    return stats, pgc


def quarantined(*urls: str) -> int:
    """Rows in the quarantine of every database of `urls`."""
    total = 0
    for url in urls:
        with get_engine(url).connect() as connection:
            total += int(connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one())
    return total


def drain(pairs: list[tuple[str, str]]) -> None:
    """Promote each (database, upstream) in order (lower levels first)."""
    for url, upstream in pairs:
        assert promote(url, SETTINGS, upstream).skipped is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_level_hierarchy_end_to_end(postgres_databases: Factory, seed: int) -> None:
    """Four pools under two biomes under a biosphere push and pull in a random order while they evolve: the
    biosphere holds exactly the sum of every delta, and a best GC of one pool comes back down to every other
    pool with the biosphere's statistics."""
    rng = random.Random(seed)
    biosphere = postgres_databases(DatabaseRole.LIBRARY)
    biomes = [postgres_databases(DatabaseRole.LIBRARY) for _ in range(2)]
    pools = [postgres_databases(DatabaseRole.POOL) for _ in range(4)]
    up = {**{p: biomes[k // 2] for k, p in enumerate(pools)}, **{b: biosphere for b in biomes}}
    shared = make_gcs(3, seed=seed * 1000)
    ledger = Ledger()
    for url in pools:  # a pool pulls for its own problems: each has evolved on PROBLEM
        ledger.epoch(url, rng, shared)
    for _ in range(40):
        action = rng.choice(("epoch", "epoch", "push", "push", "pull"))
        url = rng.choice([*pools, *biomes]) if action != "epoch" else rng.choice(pools)
        if action == "epoch":
            ledger.epoch(url, rng, shared)
        elif action == "push":
            promote(url, SETTINGS, up[url])
        else:
            pull(url, SETTINGS, up[url])
    best = ledger.epoch(pools[0], rng, shared, best=1.0)
    drain([(p, up[p]) for p in pools] + [(b, biosphere) for b in biomes])
    assert totals(biosphere) == (ledger.stats, ledger.pgc)
    # Back down: biomes, then pools, pull; the best GC reaches every pool with the biosphere's statistics.
    for url in [*biomes, *pools]:
        pull(url, SETTINGS, up[url])
    top = totals(biosphere)[0][best]
    for url in pools:
        assert totals(url)[0][best] == top
    assert quarantined(biosphere, *biomes, *pools) == 0
    # The pulls changed no delta: another drain sends no statistic, and the totals stay exact.
    for url in [*pools, *biomes]:
        assert promote(url, SETTINGS, up[url]).stats_rows == 0
    assert totals(biosphere) == (ledger.stats, ledger.pgc)


def test_biome_down_for_a_while_catches_up(postgres_databases: Factory) -> None:
    """While a biome refuses connections its pools keep evolving and their syncs fail with one error each;
    when it is back, one round of syncs brings the biosphere to the exact sum of every delta."""
    rng = random.Random(7)
    biosphere = postgres_databases(DatabaseRole.LIBRARY)
    biome = postgres_databases(DatabaseRole.LIBRARY)
    pools = [postgres_databases(DatabaseRole.POOL) for _ in range(2)]
    shared = make_gcs(3, seed=77)
    ledger = Ledger()
    for url in pools:
        ledger.epoch(url, rng, shared)
    drain([(p, biome) for p in pools] + [(biome, biosphere)])
    name = biome.rsplit("/", 1)[1]
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        dispose_engines()
        failures = 0
        for _ in range(3):
            for url in pools:
                ledger.epoch(url, rng, shared)
                for sync in (promote, pull):
                    with pytest.raises(Exception, match=name):
                        sync(url, SETTINGS, biome)
                    failures += 1
        assert failures == 12
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
    drain([(p, biome) for p in pools] + [(biome, biosphere)])
    assert totals(biosphere) == (ledger.stats, ledger.pgc)
    assert quarantined(biosphere, biome, *pools) == 0


@pytest.fixture
def dbmanager(postgres_databases: Factory, tmp_path: Path) -> Iterator[tuple[CeleryCluster, str]]:
    """A real DB-manager process on a Postgres pool whose upstream is a Postgres library; its cluster and
    the library's URL."""
    library = postgres_databases(DatabaseRole.LIBRARY)
    pool = postgres_databases(DatabaseRole.POOL)
    cluster = CeleryCluster(
        pool,
        tmp_path,
        REDIS_URL,
        settings={"promote_min_fitness": -1e9, "sync_interval_s": 3600},
        EGP_LIBRARY_URLS=json.dumps([library]),
    )
    cluster.start("dbmanager", "dbmanager", "-P", "solo")
    try:
        cluster.wait_ready("dbmanager", count=0)
        yield cluster, library
    finally:
        cluster.stop_all()


def _promote_task(settings: Settings) -> Any:
    """Send dbmanager.promote without waiting; the AsyncResult."""
    app = make_app("test-client", Queue.EVOLUTION, settings)
    return app.send_task("dbmanager.promote")


def _wait(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Poll `condition` until true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _scalar(url: str, sql: str) -> Any:
    """One value of a query (its own connection, nothing cached)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        row = connection.execute(sql).fetchone()
    return row[0] if row else None


@pytest.mark.slow
def test_dbmanager_killed_between_the_halves_of_a_push(dbmanager: tuple[CeleryCluster, str]) -> None:
    """kill -9 of a real DB manager after its batch is prepared locally but before the upstream applied it,
    and again after the upstream applied it but before the pool recorded that: each time the restarted DB
    manager's one promote sends the batch once and everything written since, and the library holds exactly
    the sum of every delta (nothing lost, nothing counted twice)."""
    cluster, library = dbmanager
    pool = cluster.gene_pool_url
    rng = random.Random(11)
    shared = make_gcs(3, seed=111)
    ledger = Ledger()
    libpq = library.replace("postgresql+psycopg://", "postgresql://")
    pending = "SELECT pending FROM sync_state WHERE pending IS NOT NULL"
    for after_upstream in (False, True):
        ledger.epoch(pool, rng, shared)
        # The upstream half waits on the library's sync_state while the test holds it.
        blocker = psycopg.connect(libpq)
        blocker.execute("LOCK TABLE sync_state IN ACCESS EXCLUSIVE MODE")
        _promote_task(cluster.settings)
        _wait(lambda: _scalar(pool, pending) is not None, "the batch prepared locally")
        seq = json.loads(_scalar(pool, pending))["seq"]
        ledger.epoch(pool, rng, shared)  # written after the batch was prepared: the next batch's
        local_blocker = None
        if after_upstream:
            # The local half (forgetting the batch) waits on the pool's sync_state; the upstream half lands.
            local_blocker = psycopg.connect(pool.replace("postgresql+psycopg://", "postgresql://"))
            local_blocker.execute("SELECT * FROM sync_state FOR UPDATE")
            blocker.rollback()
            _wait(
                lambda seq=seq: _scalar(library, "SELECT max(applied_seq) FROM sync_state") == seq,
                "the upstream half applied",
            )
        process = cluster.processes["dbmanager"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        blocker.close()
        if local_blocker is not None:
            local_blocker.close()
        assert _scalar(pool, pending) is not None  # the kill left the batch pending
        cluster.start("dbmanager", "dbmanager", "-P", "solo")
        cluster.wait_ready("dbmanager", count=0)
        # One promote (retried while the killed process's sync lock is not yet released).
        app = make_app("test-client", Queue.EVOLUTION, cluster.settings)
        for _ in range(100):
            report = app.send_task("dbmanager.promote").get(timeout=60)
            if report["skipped"] is None:
                break
            time.sleep(0.2)
        assert report["skipped"] is None and report["already_applied"] is after_upstream
        assert totals(library) == (ledger.stats, ledger.pgc)
        assert _scalar(pool, pending) is None
    assert quarantined(library) == 0
    assert promote(pool, SETTINGS, library).stats_rows == 0
    assert totals(library) == (ledger.stats, ledger.pgc)
