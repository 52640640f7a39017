"""Promote, pull, archive, watchdog and start-up of the DB manager on real Postgres (and SQLite)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from egp.config import DatabaseRole, Settings, load_settings
from egp.db import get_engine
from egp.engine.gene_pool import EpochRecord, PgcStats, ProblemStats
from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.serialization import from_json, to_json
from egp.jobs.recovery import stalled_jobs
from egp.storage.sql_pool import SQLGenePool
from egp.storage.sync import archive, prepare_database, promote, pull

from .conftest import FLOAT, make_gcs
from .test_gene_pool_conformance import literal_gc

PROBLEM = hashlib.sha256(b"sync problem").digest()
STAT_COLUMNS = "fitness_total, fitness_count, evolvability_total, evolvability_count, descendants"

Factory = Callable[[DatabaseRole], str]


def settings_for(library: str, **overrides: object) -> Settings:
    """Settings with `library` upstream and thresholds that promote every scored GC."""
    return load_settings(library_urls=[library], promote_min_fitness=0.0, **overrides)


def stats_table(url: str) -> dict[tuple[bytes, bytes], tuple[float, ...]]:
    """Every gc_problem_stats row's mergeable values."""
    with get_engine(url).connect() as connection:
        rows = connection.execute(text(f"SELECT signature, problem, {STAT_COLUMNS} FROM gc_problem_stats"))
        return {(bytes(r[0]), bytes(r[1])): tuple(r[2:]) for r in rows}


def count(url: str, table: str) -> int:
    """Rows in `table`."""
    with get_engine(url).connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def fill(url: str, seed: int, shared: list[GeneticCode]) -> dict[bytes, ProblemStats]:
    """Record an epoch of own and shared GCs with statistics; return the deltas recorded."""
    own = make_gcs(15, seed=seed)
    gcs = [*shared, *own]
    tops = [g for g in gcs if g.codon is None]
    deltas = {
        g.signature: ProblemStats(0.25 * (k % 4), 1 + k % 3, 0.5, 1, 0.0, k % 2) for k, g in enumerate(tops)
    }
    pool = SQLGenePool(url)
    pool.record_epoch(
        EpochRecord(
            problem=PROBLEM,
            new_gcs=gcs,
            problem_stats=deltas,
            pgc_stats={(tops[0].signature, 1): PgcStats(0.5, 2, 0.1, 1)},
        )
    )
    return deltas


def assert_closed_and_valid(url: str) -> None:
    """Every GC in the database validates with from_json given its sub-GCs (so the closure is complete)."""
    pool = SQLGenePool(url)
    with pool.engine.connect() as connection:
        signatures = [bytes(r[0]) for r in connection.execute(text("SELECT signature FROM genetic_codes"))]
    store: dict[bytes, GeneticCode] = {}
    for row in pool.closure_rows(signatures):
        gc = pool.get_many([bytes(row["signature"])])[bytes(row["signature"])]
        assert from_json(to_json(gc), store, codon_registry()).signature == gc.signature
        store[gc.signature] = gc


def test_two_pools_push_concurrently_then_pull(postgres_databases: Factory) -> None:
    """Library statistics equal the sum of both pools' deltas; a re-push changes nothing; a pull is closed."""
    library = postgres_databases(DatabaseRole.LIBRARY)
    pools = [postgres_databases(DatabaseRole.POOL) for _ in range(2)]
    shared = make_gcs(10, seed=100)
    deltas = [fill(url, seed, shared) for url, seed in zip(pools, (1, 2), strict=True)]
    settings = settings_for(library)
    errors: list[BaseException] = []

    def push(url: str) -> None:
        try:
            promote(url, settings)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=push, args=(url,)) for url in pools]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    expected: dict[bytes, list[float]] = {}
    for pool_deltas in deltas:
        for sig, d in pool_deltas.items():
            row = expected.setdefault(sig, [0.0, 0, 0.0, 0, 0])
            for k, v in enumerate(
                (d.fitness_total, d.fitness_count, d.evolvability_total, d.evolvability_count, d.descendants)
            ):
                row[k] += v
    library_stats = stats_table(library)
    assert {sig: list(v) for (sig, _), v in library_stats.items()} == expected
    gcs_before = count(library, "genetic_codes")
    local_gcs = {s for url in pools for s in stats_table(url)}
    assert gcs_before >= len(local_gcs)
    for url in pools:
        report = promote(url, settings)
        assert report.gcs_new == 0 and report.stats_rows == 0
    assert stats_table(library) == library_stats and count(library, "genetic_codes") == gcs_before
    third = postgres_databases(DatabaseRole.POOL)
    SQLGenePool(third).add_problem_stats(PROBLEM, {})
    report = pull(third, settings_for(library, pull_best_per_problem=5))
    assert report.gcs_new > 0 and report.quarantined == 0
    assert_closed_and_valid(third)
    # Snapshot on arrival: nothing to push back.
    pulled = stats_table(third)
    assert pulled and all(library_stats[key] == value for key, value in pulled.items())
    assert promote(third, settings_for(library)).stats_rows == 0


def test_multi_level_push(postgres_databases: Factory, tmp_path: object) -> None:
    """pool (SQLite) → microbiome → biome: each level adds only its delta, once."""
    biome = postgres_databases(DatabaseRole.LIBRARY)
    microbiome = postgres_databases(DatabaseRole.LIBRARY)
    pool = f"sqlite:///{tmp_path}/pool.db"
    prepare_database(pool, load_settings())
    literal, user = literal_gc()
    deltas = fill(pool, 7, [literal, user])
    promote(pool, settings_for(microbiome))
    promote(microbiome, settings_for(biome))
    promote(microbiome, settings_for(biome))
    assert fill(pool, 7, [literal, user]) == deltas  # the same deltas again
    promote(pool, settings_for(microbiome))
    promote(microbiome, settings_for(biome))
    for url in (microbiome, biome):
        got = stats_table(url)
        for sig, d in deltas.items():
            assert got[(sig, PROBLEM)][1] == 2 * d.fitness_count
    # A new GC on top of GCs the library holds already: only it travels, validated against the library's.
    registry = codon_registry()
    inner = Expr(registry.by_name("float_add"), (Expr(None, (), 0), Expr(literal)))
    outer = Assembler({}, [FLOAT, FLOAT]).assemble(
        Expr(registry.by_name("float_mul"), (inner, Expr(None, (), 1)))
    )
    assert outer.gca == user.signature
    SQLGenePool(pool).record_epoch(
        EpochRecord(problem=PROBLEM, new_gcs=[outer], problem_stats={outer.signature: ProblemStats(0.9, 1)})
    )
    report = promote(pool, settings_for(microbiome))
    assert (report.gcs_sent, report.gcs_new, report.quarantined) == (1, 1, 0)
    assert outer.signature in SQLGenePool(microbiome).get_many([outer.signature])
    assert SQLGenePool(biome).get_many([literal.signature, user.signature]).keys() == {
        literal.signature,
        user.signature,
    }


def test_tampered_rows_are_quarantined(postgres_databases: Factory) -> None:
    """A changed graph, an unknown codon and a wrong signature are quarantined; the rest lands."""
    library = postgres_databases(DatabaseRole.LIBRARY)
    source = postgres_databases(DatabaseRole.POOL)
    prepare_database(library, load_settings())  # the library holds the shipped codons
    gcs = make_gcs(12, seed=11)
    tops = [g for g in gcs if g.codon is None]
    SQLGenePool(source).record_epoch(
        EpochRecord(
            problem=PROBLEM, new_gcs=gcs, problem_stats={g.signature: ProblemStats(0.9, 1) for g in tops}
        )
    )
    promote(source, settings_for(library))
    # Tamper with three leaves of the DAG (GCs no other GC uses) in the library.
    with get_engine(library).begin() as connection:
        used = {
            bytes(r[0])
            for r in connection.execute(text("SELECT gca FROM genetic_codes WHERE gca IS NOT NULL"))
        }
        used |= {
            bytes(r[0])
            for r in connection.execute(text("SELECT gcb FROM genetic_codes WHERE gcb IS NOT NULL"))
        }
        leaves = [g for g in tops if g.signature not in used][:2]
        graph = json.loads(leaves[0].graph.canonical_json())
        graph["O"][0][1] = 1 if graph["O"][0][1] == 0 else 0
        connection.execute(
            text("UPDATE genetic_codes SET graph = :g WHERE signature = :s"),
            {"g": json.dumps(graph, separators=(",", ":")), "s": leaves[0].signature},
        )
        wrong = bytes(32)
        connection.execute(
            text("UPDATE genetic_codes SET signature = :w WHERE signature = :s"),
            {"w": wrong, "s": leaves[1].signature},
        )
        connection.execute(
            text("UPDATE gc_problem_stats SET signature = :w WHERE signature = :s"),
            {"w": wrong, "s": leaves[1].signature},
        )
        codon = codon_registry().by_name("float_add")
        connection.execute(
            text(
                "INSERT INTO genetic_codes SELECT :evil, gca, gcb, ancestora, ancestorb, pgc, creator,"
                " created, properties, graph, code_depth, num_codes, num_codons, generation, input_types,"
                " output_types,"
                " interface_key, 'evil', '__import__(\"os\").getcwd()', '', job, island, epoch, worker"
                " FROM genetic_codes WHERE signature = :codon"
            ),
            {"evil": hashlib.sha256(b"evil").digest(), "codon": codon.signature},
        )
    target = postgres_databases(DatabaseRole.POOL)
    SQLGenePool(target).add_problem_stats(PROBLEM, {})
    report = pull(target, settings_for(library))
    assert report.quarantined == 3, report.reasons
    with get_engine(target).connect() as connection:
        reasons = [r[0] for r in connection.execute(text("SELECT reason FROM quarantine"))]
    assert len(reasons) == 3 and all("pull from" in r for r in reasons)
    assert any("signature" in r for r in reasons) and any(
        "not in the local codon registry" in r for r in reasons
    )
    assert report.gcs_new == report.gcs_sent - 3
    assert_closed_and_valid(target)


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_archive_keeps_every_sub_gc_of_a_stored_gc(
    backend: str, postgres_databases: Factory, sqlite_url: str
) -> None:
    """Without gca/gcb indexes (revision 0004) the archive still retires exactly the GCs no stored GC uses
    (as gca or as gcb), then, run by run, the sub-GCs those leave unused: the stored GCs stay closed."""
    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else sqlite_url
    pool = SQLGenePool(url)
    gcs = [g for g in make_gcs(8, seed=29, size=6) if g.codon is None]
    pool.put_many(gcs)
    later = datetime.now(UTC) + timedelta(days=2)
    settings = load_settings()
    stored = {g.signature: g for g in gcs}
    as_gca = {g.gca for g in gcs} & set(stored)
    as_gcb = {g.gcb for g in gcs} & set(stored)
    assert as_gca - as_gcb and as_gcb - as_gca  # GCs used only as gca, and only as gcb, are both kept
    rounds = 0
    while stored:
        used = {s for g in stored.values() for s in (g.gca, g.gcb) if s is not None}
        cold = set(stored) - used
        assert archive(url, settings, now=later)["archived"] == len(cold)
        with get_engine(url).connect() as connection:
            left = {bytes(r[0]) for r in connection.execute(text("SELECT signature FROM genetic_codes"))}
        assert left & set(stored) == set(stored) - cold
        stored = {s: g for s, g in stored.items() if s not in cold}
        rounds += 1
    assert rounds > 1  # sub-GCs were kept while a stored GC used them


def test_archive_and_watchdog(sqlite_url: str) -> None:
    """Cold GCs move to the archive (still readable); live ones stay; stalled running jobs are listed."""
    from egp.storage.sync import lookup_with_archive

    pool = SQLGenePool(sqlite_url)
    gcs = make_gcs(6, seed=21)
    tops = [g for g in gcs if g.codon is None]
    pool.record_epoch(
        EpochRecord(
            problem=PROBLEM,
            new_gcs=gcs,
            problem_stats={tops[-1].signature: ProblemStats(0.9, 1)},
            members=[tops[-2].signature],
        )
    )
    later = datetime.now(UTC) + timedelta(days=2)
    settings = load_settings()
    before = count(sqlite_url, "genetic_codes")
    moved = archive(sqlite_url, settings, now=later)["archived"]
    assert moved > 0 and count(sqlite_url, "archive") == moved == before - count(sqlite_url, "genetic_codes")
    live = pool.get_many([tops[-1].signature, tops[-2].signature])
    assert len(live) == 2
    both = lookup_with_archive(sqlite_url, [g.signature for g in tops])
    assert len(both) == len(tops) and any(archived for _, archived in both.values())
    assert archive(sqlite_url, settings)["archived"] == 0  # nothing old enough now
    with get_engine(sqlite_url).begin() as connection:
        for job, age in (("stale", 600), ("fresh", 1)):
            connection.execute(
                text(
                    "INSERT INTO jobs (id, spec, status, seed, created, updated, lease_s)"
                    " VALUES (:id, '{}', 'running', 1, :t, :t, 120)"
                ),
                {
                    "id": job,
                    "t": (datetime.now(UTC) - timedelta(seconds=age)).replace(tzinfo=None).isoformat(" "),
                },
            )
    assert [j["job"] for j in stalled_jobs(sqlite_url)] == ["stale"]


def test_prepare_database_seeds_codons(postgres_databases: Factory) -> None:
    """Start-up seeds the shipped codons once and records their files in sources."""
    url = postgres_databases(DatabaseRole.POOL)
    settings = load_settings()
    first = prepare_database(url, settings)
    assert first["codons_added"] == len(codon_registry())
    assert prepare_database(url, settings)["codons_added"] == 0
    assert count(url, "sources") >= 1


def test_tampered_runtime_literal_is_quarantined(tmp_path: object) -> None:
    """A runtime literal codon whose template or properties were changed upstream is rejected on pull."""
    library, source, target = (f"sqlite:///{tmp_path}/{name}.db" for name in ("lib", "source", "target"))
    for url in (source, target):
        prepare_database(url, load_settings())
    prepare_database(library, load_settings(database_role=DatabaseRole.LIBRARY))
    literal, user = literal_gc()
    deltas = {user.signature: ProblemStats(0.9, 1)}
    SQLGenePool(source).record_epoch(
        EpochRecord(problem=PROBLEM, new_gcs=[literal, user], problem_stats=deltas)
    )
    assert promote(source, settings_for(library)).gcs_new == 2
    with get_engine(library).begin() as connection:
        connection.execute(
            text("UPDATE genetic_codes SET codon_inline = :evil WHERE signature = :s"),
            {"evil": "__import__('os').system('true')", "s": literal.signature},
        )
    SQLGenePool(target).add_problem_stats(PROBLEM, {})
    report = pull(target, settings_for(library))
    # The literal is rejected (unknown template), and so is the GC using it (its sub-GC is not held).
    assert report.quarantined == 2, report.reasons
    assert any("neither held nor valid" in r for r in report.reasons), report.reasons
    assert SQLGenePool(target).get_many([user.signature]) == {}
