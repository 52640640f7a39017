"""Hostile rows planted in a library (or a pool) never stop a sync: each is quarantined with its reason, the
good rows land, and `egp library pull` exits 0 without a traceback. Real Postgres, real pull and push."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from egp.config import DatabaseRole, Settings, load_settings
from egp.db import get_engine
from egp.engine.gene_pool import EpochRecord, ProblemStats
from egp.storage.rows import GC_COLUMNS
from egp.storage.sql_pool import SQLGenePool
from egp.storage.sync import prepare_database, promote, pull

from .conftest import make_gcs

PROBLEM = hashlib.sha256(b"hostile rows problem").digest()
Factory = Callable[[DatabaseRole], str]

DEEP = "[" * 100_000 + "]" * 100_000
HUGE_STRING = '{"I":["' + "x" * 20_000_000 + '"]}'
# Each hostile graph text, and a fragment its quarantine reason must hold.
HOSTILE_GRAPHS: dict[str, tuple[str, str]] = {
    "nesting depth 10**5": (DEEP, "nested more than"),
    "a 20 MB string": (HUGE_STRING, "characters long"),
    "NaN": ('{"I":[NaN],"O":[["I",0,"float"]]}', "NaN"),
    "Infinity": ('{"I":["float"],"O":[["I",Infinity,"float"]]}', "Infinity"),
    "1e999": ('{"I":["float"],"O":[["I",1e999,"float"]]}', "not finite"),
    "a huge integer": ('{"I":["float"],"O":[["I",' + "9" * 5000 + ',"float"]]}', "integer literal"),
    "duplicate keys": ('{"I":["float"],"I":["float"],"O":[["I",0,"float"]]}', "duplicate key"),
    "a list for the graph": ('[["I",0,"float"]]', "graph must be a JSON object"),
    "a number for the graph": ("42", "graph must be a JSON object"),
    "null for the graph": ("null", "graph must be a JSON object"),
    "an object for a row": ('{"I":{"a":1},"O":[["I",0,"float"]]}', "row I"),
    "a string for a row": ('{"I":["float"],"O":"I0"}', "must be a list"),
    "a number for an endpoint": ('{"I":["float"],"O":[7]}', "must be [source_row"),
    "true for an index": ('{"I":["float"],"O":[["I",true,"float"]]}', "must be an integer"),
    "a list for a type": ('{"I":[["float"]],"O":[["I",0,"float"]]}', "row I"),
    "unbalanced": ('{"I":["float"],"O":[["I",0,"float"]]', "not valid JSON"),
    "too many endpoints": (
        '{"I":[' + ",".join(['"float"'] * 300) + '],"O":[["I",0,"float"]]}',
        "at most 256",
    ),
    "too many elements": ('{"I":[' + ",".join(['"float"'] * 20_000) + '],"O":[["I",0,"float"]]}', "elements"),
}


def _library_with_good_rows(databases: Factory) -> tuple[str, list[bytes]]:
    """A library holding a pushed pool's GCs with statistics on PROBLEM; returns it and the top GCs."""
    library = databases(DatabaseRole.LIBRARY)
    source = databases(DatabaseRole.POOL)
    prepare_database(library, load_settings())
    gcs = make_gcs(12, seed=41)
    tops = [g.signature for g in gcs if g.codon is None]
    SQLGenePool(source).record_epoch(
        EpochRecord(problem=PROBLEM, new_gcs=gcs, problem_stats={s: ProblemStats(0.5, 1) for s in tops})
    )
    assert promote(source, _settings(library)).quarantined == 0
    return library, tops


def _settings(library: str) -> Settings:
    """Settings that promote every scored GC and pull everything scored."""
    return load_settings(library_urls=[library], promote_min_fitness=0.0, pull_best_per_problem=10_000)


def _model_row(connection: Connection) -> dict[str, Any]:
    """A stored row with a sub-GC, as a template for hostile rows."""
    row = connection.execute(
        text(f"SELECT {', '.join(GC_COLUMNS)} FROM genetic_codes WHERE gca IS NOT NULL LIMIT 1")
    ).mappings()
    return dict(next(iter(row)))


def _plant(connection: Connection, row: dict[str, Any], fitness_total: float = 1.0) -> None:
    """Insert a row into genetic_codes with statistics that make a pull want it (mean fitness 1)."""
    connection.execute(
        text(f"INSERT INTO genetic_codes ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"), row
    )
    connection.execute(
        text(
            "INSERT INTO gc_problem_stats (signature, problem, fitness_total, fitness_count, survivability)"
            " VALUES (:s, :p, :t, 1, 1.0)"
        ),
        {"s": row["signature"], "p": PROBLEM, "t": fitness_total},
    )


def _hostile(label: str) -> bytes:
    """The signature of the hostile row `label`."""
    return hashlib.sha256(b"hostile " + label.encode()).digest()


def _quarantine(url: str) -> dict[bytes | None, str]:
    """Quarantined signatures and their reasons."""
    with get_engine(url).connect() as connection:
        rows = connection.execute(text("SELECT signature, reason, length(raw) FROM quarantine")).all()
    assert all(r[2] < 200_000 for r in rows)  # a 20 MB hostile value is never copied whole
    return {None if r[0] is None else bytes(r[0]): r[1] for r in rows}


def test_pull_quarantines_every_hostile_row_and_lands_the_rest(postgres_databases: Factory) -> None:
    """Each hostile graph, a cycle through gca/gcb, an oversized codon text and a NaN statistic are each
    quarantined with a reason naming the fault; every good row lands."""
    library, tops = _library_with_good_rows(postgres_databases)
    expected: dict[bytes, str] = {}
    with get_engine(library).begin() as connection:
        model = _model_row(connection)
        for label, (graph, fragment) in HOSTILE_GRAPHS.items():
            _plant(connection, model | {"signature": _hostile(label), "graph": graph})
            expected[_hostile(label)] = fragment
        # A cycle: x's gca is y and y's gca is x; neither can ever validate.
        x, y = _hostile("cycle x"), _hostile("cycle y")
        _plant(connection, model | {"signature": x, "gca": y})
        _plant(connection, model | {"signature": y, "gca": x})
        expected[x] = expected[y] = "neither held nor valid"
        # A runtime-literal-looking codon row whose literal is 20 MB.
        codon = model | {
            "signature": _hostile("codon"),
            "gca": None,
            "gcb": None,
            "codon_name": "lit",
            "codon_inline": "1" * 20_000_000,
        }
        _plant(connection, codon)
        expected[_hostile("codon")] = "codon inline is 20000000 characters long"
        # Properties with every bit set and a negative generation: caught by validation, not by a crash.
        _plant(connection, model | {"signature": _hostile("properties"), "properties": 2**62 - 1})
        expected[_hostile("properties")] = "properties"
        # A good GC whose statistics row is NaN (numeric allows it): the statistic is quarantined.
        connection.execute(
            text("UPDATE gc_problem_stats SET evolvability_total = 'NaN' WHERE signature = :s"),
            {"s": tops[0]},
        )
    target = postgres_databases(DatabaseRole.POOL)
    SQLGenePool(target).add_problem_stats(PROBLEM, {})
    report = pull(target, _settings(library))
    reasons = _quarantine(target)
    for signature, fragment in expected.items():
        assert fragment in reasons.get(signature, ""), (signature.hex(), reasons.get(signature))
    assert "statistics of" in reasons[tops[0]] and "not finite" in reasons[tops[0]]
    assert report.quarantined == len(expected) + 1
    held = SQLGenePool(target).get_many(tops)
    assert set(held) == set(tops)  # every good GC landed (its NaN statistic alone was refused)
    with get_engine(target).connect() as connection:
        stats = {bytes(r[0]) for r in connection.execute(text("SELECT signature FROM gc_problem_stats"))}
    assert set(tops[1:]) <= stats and tops[0] not in stats and not stats & set(expected)
    # The same hostile rows again: the pull still completes (nothing new lands twice).
    again = pull(target, _settings(library))
    assert again.gcs_new == 0 and again.quarantined == len(expected) + 1


def test_push_of_a_hostile_local_row_quarantines_it_upstream(postgres_databases: Factory) -> None:
    """A row in the pool that was written around EGP (a deep graph) is quarantined by the library on push,
    and the rest of the batch lands."""
    library = postgres_databases(DatabaseRole.LIBRARY)
    pool = postgres_databases(DatabaseRole.POOL)
    prepare_database(library, load_settings())
    gcs = make_gcs(8, seed=43)
    tops = [g.signature for g in gcs if g.codon is None]
    SQLGenePool(pool).record_epoch(
        EpochRecord(problem=PROBLEM, new_gcs=gcs, problem_stats={s: ProblemStats(0.5, 1) for s in tops})
    )
    with get_engine(pool).begin() as connection:
        _plant(connection, _model_row(connection) | {"signature": _hostile("push deep"), "graph": DEEP})
    report = promote(pool, _settings(library))
    assert report.quarantined == 1 and "nested more than" in report.reasons[0]
    assert set(SQLGenePool(library).get_many(tops)) == set(tops)
    assert "nested more than" in _quarantine(library)[_hostile("push deep")]


def test_egp_library_pull_with_a_hostile_row_exits_0_without_a_traceback(
    postgres_databases: Factory, tmp_path: Path
) -> None:
    """The command a person runs: exit 0, no traceback, the hostile row quarantined, the good ones pulled."""
    library, tops = _library_with_good_rows(postgres_databases)
    with get_engine(library).begin() as connection:
        _plant(connection, _model_row(connection) | {"signature": _hostile("cli deep"), "graph": DEEP})
    target = postgres_databases(DatabaseRole.POOL)
    SQLGenePool(target).add_problem_stats(PROBLEM, {})
    env = os.environ | {
        "EGP_GENE_POOL_URL": target,
        "EGP_LIBRARY_URLS": json.dumps([library]),
        "EGP_PULL_BEST_PER_PROBLEM": "10000",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "egp"), "library", "pull"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert _hostile("cli deep") in _quarantine(target)
    assert set(SQLGenePool(target).get_many(tops)) == set(tops)
