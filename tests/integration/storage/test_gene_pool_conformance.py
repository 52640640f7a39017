"""The GenePool conformance suite, run on MemoryGenePool and SQLGenePool (SQLite and Postgres)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from egp.config import DatabaseRole
from egp.engine.gene_pool import EpochRecord, GenePool, MemoryGenePool, PgcStats, ProblemStats
from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode, make_codon
from egp.genetic_code.graph import GCValidationError
from egp.genetic_code.serialization import from_json, to_json
from egp.storage.sql_pool import SQLGenePool, gc_from_row, open_gene_pool

from .conftest import FLOAT, PostgresDatabases, empty, make_gcs

PROBLEM = hashlib.sha256(b"conformance problem").digest()
OTHER = hashlib.sha256(b"another problem").digest()


@pytest.fixture(scope="module")
def module_postgres(postgres_store: PostgresDatabases) -> str:
    """One Postgres Gene Pool for the module, emptied before each test that uses it."""
    return postgres_store(DatabaseRole.POOL)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def pool(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[GenePool]:
    """A fresh, empty Gene Pool of each kind."""
    if request.param == "memory":
        gene_pool: GenePool = MemoryGenePool()
    elif request.param == "sqlite":
        gene_pool = SQLGenePool(sqlite_url)
    else:
        gene_pool = SQLGenePool(empty(request.getfixturevalue("module_postgres")))
    yield gene_pool
    gene_pool.close()


def literal_gc() -> tuple[GeneticCode, GeneticCode]:
    """A runtime literal codon (made by a pGC, not in the shipped registry) and a GC that uses it."""
    registry = codon_registry()
    properties = registry.by_name("lit_float_1").properties
    maker = hashlib.sha256(b"some pGC").digest()
    literal = make_codon("lit_0.125", "0.125", (), (FLOAT,), properties, "runtime literal", pgc=maker)
    store: dict[bytes, GeneticCode] = {}
    expr = Expr(registry.by_name("float_add"), (Expr(None, (), 0), Expr(literal)))
    return literal, Assembler(store, [FLOAT, FLOAT]).assemble(expr)


def test_round_trip_is_exact(pool: GenePool) -> None:
    """GCs, shipped codons and a runtime literal codon come back equal in every field."""
    gcs = make_gcs(20, seed=1)
    literal, user = literal_gc()
    codon = codon_registry().by_name("float_mul")
    assert pool.put_many([*gcs, literal, user, codon]) == len(gcs) + 3
    assert pool.put_many(gcs) == 0
    if isinstance(pool, SQLGenePool):
        pool.close()  # drop the cache: rebuild from rows
    found = pool.get_many([g.signature for g in gcs] + [literal.signature, user.signature, codon.signature])
    for gc in [*gcs, literal, user, codon]:
        back = found[gc.signature]
        assert to_json(back) == to_json(gc)
        assert back.graph == gc.graph and back.codon == gc.codon and back.created == gc.created


def test_rows_validate_with_from_json(sqlite_url: str) -> None:
    """A stored row rebuilt by gc_from_row equals the GC from_json validates."""
    gcs = make_gcs(5, seed=2)
    pool = SQLGenePool(sqlite_url)
    pool.put_many(gcs)
    store: dict[bytes, GeneticCode] = {}
    for row in pool.closure_rows([gcs[-1].signature]):
        gc = gc_from_row(row)
        assert from_json(to_json(gc), store).signature == gc.signature
        store[gc.signature] = gc


def test_a_row_with_a_broken_graph_text_names_its_gc(sqlite_url: str) -> None:
    """A stored graph that is not JSON is one GCValidationError naming the GC; the row itself is kept."""
    gcs = make_gcs(5, seed=3)
    pool = SQLGenePool(sqlite_url)
    pool.put_many(gcs)
    rows = {bytes(r["signature"]): dict(r) for r in pool.closure_rows([gcs[-1].signature])}
    target = gcs[-1].signature
    broken = rows[target] | {"graph": rows[target]["graph"][:-1]}
    with pytest.raises(GCValidationError, match=f"GC {target.hex()}: graph is not valid JSON"):
        gc_from_row(broken)
    assert gc_from_row(rows[target]).signature == target


def test_statistics_add(pool: GenePool) -> None:
    """Statistic deltas add up; survivability is the latest value."""
    gcs = make_gcs(3, seed=3)
    pool.put_many(gcs)
    a, b = gcs[-1].signature, gcs[-2].signature
    for k in range(3):
        record = EpochRecord(
            problem=PROBLEM,
            problem_stats={a: ProblemStats(0.5, 1, 0.25, 1, 0.1 * (k + 1), 2), b: ProblemStats(1.0, 2)},
            pgc_stats={(a, 3): PgcStats(0.75, 1, 0.5, 1)},
        )
        assert pool.record_epoch(record)
    stats = pool.problem_stats(PROBLEM, [a, b, gcs[0].signature])
    assert set(stats) == {a, b}
    assert stats[a].fitness_total == pytest.approx(1.5) and stats[a].fitness_count == 3
    assert stats[a].evolvability_count == 3 and stats[a].descendants == 6
    assert stats[a].survivability == pytest.approx(0.3)
    assert stats[b].fitness_count == 6
    assert pool.problem_stats(OTHER, [a]) == {}
    pstats = pool.pgc_stats(3, [a])
    assert pstats[a].fitness_count == 3 and pstats[a].fitness_total == pytest.approx(2.25)
    assert pool.pgc_stats(4, [a]) == {}


def _scored(pool: GenePool, count: int) -> list[GeneticCode]:
    gcs = make_gcs(count, seed=4)
    pool.put_many(gcs)
    deltas = {
        gc.signature: ProblemStats(k / len(gcs), 1, 0.0, 0, survivability=(k + 1) / len(gcs))
        for k, gc in enumerate(gcs)
    }
    pool.record_epoch(EpochRecord(problem=PROBLEM, problem_stats=deltas))
    return gcs


def test_best_and_selection_match_memory(pool: GenePool) -> None:
    """best and select_weighted give exactly MemoryGenePool's answers (the window holds every GC)."""
    reference = MemoryGenePool()
    gcs = _scored(pool, 30)
    _scored(reference, 30)
    assert [g.signature for g in pool.best(PROBLEM, 5)] == [g.signature for g in reference.best(PROBLEM, 5)]
    assert pool.best(PROBLEM, 5)[0].signature == gcs[-1].signature
    drawn = pool.select_weighted(PROBLEM, 50, seed=7)
    assert [g.signature for g in drawn] == [g.signature for g in reference.select_weighted(PROBLEM, 50, 7)]
    assert pool.select_weighted(OTHER, 5, seed=1) == []


def test_match_interface(pool: GenePool) -> None:
    """Interface matching returns only exact matches, seeded, up to the limit."""
    gcs = make_gcs(10, seed=5)
    pool.put_many(gcs)
    expected = {g.signature for g in gcs if g.inputs == (FLOAT, FLOAT) and g.outputs == (FLOAT,)}
    found = pool.match_interface([FLOAT, FLOAT], [FLOAT], 1000, seed=3)
    assert {g.signature for g in found} == expected
    few = pool.match_interface([FLOAT, FLOAT], [FLOAT], 3, seed=3)
    assert len(few) == 3 and [g.signature for g in few] == [
        g.signature for g in pool.match_interface([FLOAT, FLOAT], [FLOAT], 3, seed=3)
    ]
    assert pool.match_interface([FLOAT], [FLOAT, FLOAT, FLOAT], 10, seed=1) == []


def test_best_pgcs(pool: GenePool) -> None:
    """best_pgcs ranks by mean fitness at the layer."""
    gcs = make_gcs(4, seed=6)
    pool.put_many(gcs)
    deltas = {(g.signature, 2): PgcStats(float(k), 4) for k, g in enumerate(gcs)}
    pool.record_epoch(EpochRecord(problem=PROBLEM, pgc_stats=deltas))
    assert [g.signature for g in pool.best_pgcs(2, 2)] == [gcs[-1].signature, gcs[-2].signature]
    assert pool.best_pgcs(9, 2) == []


def test_record_epoch_is_idempotent_with_a_ledger(pool: GenePool) -> None:
    """A repeated (job, island, epoch) is a no-op returning False; without a job every record applies."""
    gcs = make_gcs(5, seed=8)
    sig = gcs[-1].signature
    record = EpochRecord(
        problem=PROBLEM,
        new_gcs=gcs,
        problem_stats={sig: ProblemStats(0.5, 1)},
        job="job-1",
        island=2,
        epoch=0,
        members=[sig],
    )
    assert pool.record_epoch(record)
    assert not pool.record_epoch(record)
    assert pool.problem_stats(PROBLEM, [sig])[sig].fitness_count == 1
    assert sig in pool.get_many([sig])
    record.epoch = 1
    assert pool.record_epoch(record)
    assert pool.problem_stats(PROBLEM, [sig])[sig].fitness_count == 2
    loose = EpochRecord(problem=PROBLEM, problem_stats={sig: ProblemStats(0.5, 1)})
    assert pool.record_epoch(loose) and pool.record_epoch(loose)
    assert pool.problem_stats(PROBLEM, [sig])[sig].fitness_count == 4
    if isinstance(pool, SQLGenePool):
        assert pool.members("job-1", 2) == [sig]
        assert pool.epoch_recorded("job-1", 2, 1)
        pool.worker = "worker-7@host"
        extra = make_gcs(2, seed=9)
        pool.record_epoch(EpochRecord(problem=PROBLEM, new_gcs=extra, job="job-1", island=3, epoch=5))
        with pool.engine.connect() as connection:
            provenance = connection.execute(
                text("SELECT job, island, epoch, worker FROM genetic_codes WHERE signature = :s"),
                {"s": extra[-1].signature},
            ).one()
        assert tuple(provenance) == ("job-1", 3, 5, "worker-7@host")
        # The island's stagnation state travels with its ledger row; the latest epoch's is read back.
        assert pool.island_state("job-1", 2) == (-1.0, 0)
        later = EpochRecord(PROBLEM, job="job-1", island=2, epoch=2, members=[sig], best=0.75, stale=13)
        assert pool.record_epoch(later)
        assert pool.island_state("job-1", 2) == (0.75, 13)
        assert pool.island_state("job-1", 9) == (-1.0, 0)


def test_open_gene_pool(
    tmp_path: pytest.TempPathFactory, module_postgres: str, postgres_store: PostgresDatabases
) -> None:
    """memory:// is in memory; a new SQLite file is created at head; Postgres behind head is refused."""
    from egp.storage.sql_pool import SchemaNotAtHeadError

    assert isinstance(open_gene_pool("memory://"), MemoryGenePool)
    pool = open_gene_pool(f"sqlite:///{tmp_path}/new.db")  # type: ignore[operator]
    assert isinstance(pool, SQLGenePool)
    assert isinstance(open_gene_pool(module_postgres), SQLGenePool)
    unmigrated = postgres_store.create()
    with pytest.raises(SchemaNotAtHeadError, match="egp db upgrade"):
        open_gene_pool(unmigrated.replace("postgresql+psycopg://", "postgresql://"))
