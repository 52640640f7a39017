"""Gene Pool storage on Postgres: bulk insert vs raw COPY, selection latency at scale, promotion.

`python -m benchmarks storage --json [--n 20000] [--sizes 100000,1000000] [--promote 100000] [--repeats 3]`

(a) raw psycopg COPY of N GC-sized rows into a bare table (the machine's ceiling);
(b) SQLGenePool.record_epoch of N new GCs, each with a statistics row;
(c) the same with half of the GCs already stored;
(d) parent selection (select_weighted's database part: window read + seeded draw) and interface matching
    latency, p50/p99, at each size (rows generated in SQL, not through Python objects), and the full
    select_weighted (GCs rebuilt, cold cache) on real GCs;
(e) promotion of P GCs with statistics into an empty and into a populated library.
Scratch databases are created on 127.0.0.1 and dropped at the end. Rates are medians over the repeats.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from benchmarks._local import libpq
from egp.config import DatabaseRole, load_settings
from egp.db import dispose_engines
from egp.engine.gene_pool import EpochRecord, ProblemStats
from egp.genetic_code.assembly import Assembler, random_expression
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES
from egp.migrations import upgrade
from egp.storage.sql_pool import GC_COLUMNS, SQLGenePool, gc_row, interface_key
from egp.storage.sync import promote

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FLOAT = TYPES.uid("float")
PROBLEM = hashlib.sha256(b"benchmark problem").digest()


def generate_gcs(count: int, seed: int) -> list[GeneticCode]:
    """At least `count` distinct random float GCs (sub-GCs first); the first `count` are returned."""
    import random

    registry = codon_registry()
    functions = [registry.by_name(n) for n in ("float_add", "float_sub", "float_mul", "float_pdiv")]
    terminals = [registry.by_name(n) for n in ("lit_float_1", "lit_float_2", "lit_float_0_5")]
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [FLOAT, FLOAT])
    rng = random.Random(seed)
    while len(store) < count:
        expr = random_expression(rng, functions, [FLOAT, FLOAT], FLOAT, rng.randint(3, 12), terminals)
        assembler.assemble(expr)
    return list(store.values())[:count]


@contextmanager
def scratch_databases() -> Iterator[Callable[[DatabaseRole], str]]:
    """A factory of migrated scratch databases, all dropped on exit."""
    names: list[str] = []

    def create(role: DatabaseRole = DatabaseRole.POOL) -> str:
        name = f"egp_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade(url, role)
        return url

    try:
        yield create
    finally:
        dispose_engines()
        with psycopg.connect(ADMIN, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def raw_copy(url: str, rows: list[tuple[Any, ...]], binary: bool) -> float:
    """Seconds to COPY `rows` (text or binary format) into a bare table with the GC columns and no index."""
    with psycopg.connect(libpq(url)) as connection:
        connection.execute("DROP TABLE IF EXISTS bare")
        connection.execute("CREATE TABLE bare AS SELECT * FROM genetic_codes WITH NO DATA")
        oids = [
            int(r[0])
            for r in connection.execute(
                "SELECT atttypid FROM pg_attribute WHERE attrelid = 'bare'::regclass AND attnum > 0"
                " ORDER BY attnum"
            )
        ]
        connection.commit()
        started = time.perf_counter()
        statement = f"COPY bare ({', '.join(GC_COLUMNS)}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            if binary:
                copy.set_types(oids)
            for row in rows:
                copy.write_row(row)
        connection.commit()
        return time.perf_counter() - started


def truncate(url: str) -> None:
    """Empty the tables the inserts write."""
    with psycopg.connect(libpq(url)) as connection:
        connection.execute("TRUNCATE genetic_codes, gc_problem_stats, problems, epochs, population_members")


def epoch_of(gcs: list[GeneticCode]) -> EpochRecord:
    """An epoch record storing `gcs`, each with one statistics row."""
    return EpochRecord(
        problem=PROBLEM,
        new_gcs=gcs,
        problem_stats={g.signature: ProblemStats(0.75, 1, 0.5, 1, 0.5, 0) for g in gcs},
    )


def bulk_inserts(url: str, gcs: list[GeneticCode], repeats: int) -> dict[str, Any]:
    """(a), (b) and (c): rows per second, medians over `repeats`."""
    rows = [gc_row(g, True) for g in gcs]
    n = len(gcs)
    text_copy, binary_copy, new, only, half = [], [], [], [], []
    for _ in range(repeats):
        text_copy.append(n / raw_copy(url, rows, binary=False))
        binary_copy.append(n / raw_copy(url, rows, binary=True))
        truncate(url)
        record = epoch_of(gcs)  # built by the engine, not by the Gene Pool: outside the timing
        pool = SQLGenePool(url)
        started = time.perf_counter()
        pool.record_epoch(record)
        new.append(n / (time.perf_counter() - started))
        truncate(url)
        pool = SQLGenePool(url)
        started = time.perf_counter()
        pool.put_many(gcs)
        only.append(n / (time.perf_counter() - started))
        truncate(url)
        SQLGenePool(url).put_many(gcs[::2])
        pool = SQLGenePool(url)  # a cold cache, as a new worker would have
        started = time.perf_counter()
        pool.record_epoch(record)
        half.append(n / (time.perf_counter() - started))
        truncate(url)
    a_text, a_binary = statistics.median(text_copy), statistics.median(binary_copy)
    b, c = statistics.median(new), statistics.median(half)
    return {
        "n": n,
        "a_raw_copy_text_rows_per_s": round(a_text),
        "a_raw_copy_binary_rows_per_s": round(a_binary),
        "b_pool_insert_new_gcs_with_stats_per_s": round(b),
        "c_pool_insert_half_present_per_s": round(c),
        "pool_put_many_gcs_only_per_s": round(statistics.median(only)),
        "b_over_a_text": round(b / a_text, 3),
        "b_over_a_binary": round(b / a_binary, 3),
        "c_over_a_text": round(c / a_text, 3),
        "c_over_a_binary": round(c / a_binary, 3),
    }


def synthesise(url: str, size: int) -> None:
    """`size` GC-like rows and statistics on PROBLEM, made in SQL (four interfaces, random weights)."""
    keys = [interface_key((FLOAT,) * k, (FLOAT,)) for k in (1, 2, 3, 4)]
    with psycopg.connect(libpq(url)) as connection:
        connection.execute(
            "INSERT INTO genetic_codes (signature, creator, created, properties, graph, code_depth,"
            " num_codes, num_codons, generation, input_types, output_types, interface_key)"
            " SELECT sha256(int8send(i)), %(creator)s, now(), 0, '{}', 2, 3, 2, 1, ARRAY[7], ARRAY[7],"
            " (%(keys)s::bytea[])[1 + i %% 4] FROM generate_series(1, %(size)s) AS i",
            {"creator": uuid.uuid4(), "keys": keys, "size": size},
        )
        connection.execute(
            "INSERT INTO gc_problem_stats (signature, problem, fitness_total, fitness_count, survivability)"
            " SELECT sha256(int8send(i)), %(problem)s, random(), 1, round(random()::numeric, 2)::float8"
            " FROM generate_series(1, %(size)s) AS i",
            {"problem": PROBLEM, "size": size},
        )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE genetic_codes")
        connection.execute("VACUUM ANALYZE gc_problem_stats")


def latencies(call: Callable[[int], object], repeats: int) -> dict[str, float]:
    """p50 and p99 in milliseconds of `call(seed)` over `repeats` calls (after 20 warm-up calls)."""
    for seed in range(20):
        call(seed)
    times = []
    for seed in range(repeats):
        started = time.perf_counter()
        call(1000 + seed)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(times[len(times) // 2], 3), "p99_ms": round(times[int(len(times) * 0.99)], 3)}


def selection(url: str, sizes: list[int], calls: int, window: int) -> list[dict[str, Any]]:
    """(d): selection and interface-match latency at each size."""
    results = []
    for size in sizes:
        truncate(url)
        synthesise(url, size)
        pool = SQLGenePool(url, selection_window=window)
        parents, one = pool.select_weighted_signatures, pool.match_interface_signatures
        results.append(
            {
                "gcs": size,
                "select_50_parents": latencies(lambda s, f=parents: f(PROBLEM, 50, s), calls),
                "select_1_parent": latencies(lambda s, f=parents: f(PROBLEM, 1, s), calls),
                "match_interface_16": latencies(
                    lambda s, f=one: f([FLOAT, FLOAT], [FLOAT], 16, s),
                    calls,
                ),
            }
        )
    truncate(url)
    return results


def full_selection(url: str, gcs: list[GeneticCode], calls: int, window: int) -> dict[str, Any]:
    """select_weighted and match_interface returning GeneticCode objects, on a cold and a warm GC cache."""
    SQLGenePool(url).record_epoch(epoch_of(gcs))
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute("ANALYZE gc_problem_stats")  # what autovacuum does soon after a bulk load

    def select(seed: int) -> object:
        return SQLGenePool(url, selection_window=window).select_weighted(PROBLEM, 50, seed)

    def match(seed: int) -> object:
        return SQLGenePool(url).match_interface([FLOAT, FLOAT], [FLOAT], 16, seed)

    warm = SQLGenePool(url, selection_window=window)  # an engine keeps its pool: GCs come from its cache
    result = {
        "gcs": len(gcs),
        "select_50_parents_cold": latencies(select, calls),
        "select_50_parents_warm": latencies(lambda s: warm.select_weighted(PROBLEM, 50, s), calls),
        "match_16_cold": latencies(match, calls),
    }
    truncate(url)
    return result


def promotion(create: Callable[[DatabaseRole], str], gcs: list[GeneticCode]) -> dict[str, Any]:
    """(e): promote `gcs` with statistics into an empty library, then the same GCs from a second pool."""
    library = create(DatabaseRole.LIBRARY)
    settings = load_settings(library_urls=[library], promote_min_fitness=0.0)
    timings = {}
    for label in ("empty_library", "populated_library"):
        pool = create(DatabaseRole.POOL)
        SQLGenePool(pool).record_epoch(epoch_of(gcs))
        started = time.perf_counter()
        report = promote(pool, settings)
        seconds = time.perf_counter() - started
        timings[label] = {
            "seconds": round(seconds, 2),
            "gcs_per_s": round(len(gcs) / seconds),
            "gcs_new": report.gcs_new,
            "stats_rows": report.stats_rows,
        }
    return {"gcs": len(gcs), **timings}


def main(argv: list[str]) -> dict[str, Any]:
    """Run (a)-(e) and return the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks storage")
    parser.add_argument("--n", type=int, default=20_000, help="GCs per bulk insert (a, b, c)")
    parser.add_argument("--sizes", default="100000,1000000", help="pool sizes for selection latency (d)")
    parser.add_argument("--promote", type=int, default=100_000, help="GCs promoted (e)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each bulk insert")
    parser.add_argument("--calls", type=int, default=300, help="calls per latency figure")
    parser.add_argument(
        "--window", type=int, default=load_settings().selection_window, help="selection window"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    started = time.perf_counter()
    gcs = generate_gcs(max(args.n, args.promote), seed=1)
    generated = time.perf_counter() - started
    # Long-lived GC objects: keep Python's cycle collector from rescanning them inside the timings.
    gc.collect()
    gc.freeze()
    with scratch_databases() as create:
        url = create(DatabaseRole.POOL)
        inserts = bulk_inserts(url, gcs[: args.n], args.repeats)
        latency = selection(url, sizes, args.calls, args.window)
        full = full_selection(url, gcs[: args.n], min(args.calls, 100), args.window)
        promoted = promotion(create, gcs[: args.promote])
    ratio = None
    if len(latency) >= 2:
        ratio = round(
            latency[-1]["select_50_parents"]["p50_ms"] / latency[0]["select_50_parents"]["p50_ms"], 3
        )
    return {
        "benchmark": "storage",
        "postgres": "127.0.0.1:5432",
        "selection_window": args.window,
        "bulk_insert": inserts,
        "selection_latency": latency,
        "selection_p50_ratio_largest_vs_smallest": ratio,
        "selection_full_objects": full,
        "promotion": promoted,
        "goals": {
            "b_over_a_text_at_least_0_5": inserts["b_over_a_text"] >= 0.5,
            "b_over_a_binary_at_least_0_5": inserts["b_over_a_binary"] >= 0.5,
            "selection_p50_at_most_2ms_at_largest": latency[-1]["select_50_parents"]["p50_ms"] <= 2.0
            if latency
            else None,
            "selection_p50_ratio_at_most_2": ratio <= 2.0 if ratio is not None else None,
        },
        "gc_generation_s": round(generated, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }
