"""`egp pool`, `egp library` and `egp gc show` on a real Gene Pool and library (Postgres and SQLite)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from egp.config import DatabaseRole
from egp.engine.gene_pool import EpochRecord, ProblemStats
from egp.migrations import alembic_config, current, upgrade
from egp.storage.sql_pool import SchemaNotAtHeadError, SQLGenePool
from egp.storage.sync import prepare_database

from .conftest import make_gcs

EGP = str(Path(sys.executable).parent / "egp")
PROBLEM = hashlib.sha256(b"cli problem").digest()


def egp(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the egp command with EGP_* settings in `env`."""
    import os

    return subprocess.run(
        [EGP, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=os.environ | env
    )


@pytest.mark.slow
def test_pool_and_library_commands(postgres_databases: Callable[[DatabaseRole], str], tmp_path: Path) -> None:
    """stats, push (twice: idempotent), status, pull, and gc lookups through the pool."""
    pool = postgres_databases(DatabaseRole.POOL)
    library = postgres_databases(DatabaseRole.LIBRARY)
    gcs = make_gcs(6, seed=31)
    top = gcs[-1]
    SQLGenePool(pool).record_epoch(
        EpochRecord(
            problem=PROBLEM, new_gcs=gcs, problem_stats={g.signature: ProblemStats(0.9, 1) for g in gcs}
        )
    )
    env = {"EGP_GENE_POOL_URL": pool, "EGP_LIBRARY_URLS": json.dumps([library])}
    stats = egp(env, "pool", "stats", "--json", cwd=tmp_path)
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert report["counts"]["genetic_codes"] == len(gcs) and report["size_bytes"] > 0
    assert report["top_problems"][0]["gcs"] == len(gcs)
    first = egp(env, "library", "push", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["gcs_new"] == len(gcs)
    again = json.loads(egp(env, "library", "push", "--json", cwd=tmp_path).stdout)
    assert again["gcs_new"] == 0 and again["stats_rows"] == 0
    status = json.loads(egp(env, "library", "status", "--json", cwd=tmp_path).stdout)
    assert status["upstream"]["genetic_codes"] == len(gcs) and status["peers"][0]["pending"] is False
    shown = egp(env, "gc", "show", top.signature.hex(), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["signature"] == top.signature.hex()
    record = json.loads(egp(env, "pool", "gc", top.signature.hex(), "--json", cwd=tmp_path).stdout)
    assert record["lineage"]["gca"]["stored"] and record["statistics"][0]["evaluations"] == 1
    third = {
        "EGP_GENE_POOL_URL": f"sqlite:///{tmp_path / 'third.db'}",
        "EGP_LIBRARY_URLS": json.dumps([library]),
    }
    assert egp(third, "db", "upgrade", cwd=tmp_path).returncode == 0
    assert egp(third, "library", "pull", cwd=tmp_path).returncode == 0


@pytest.mark.slow
def test_missing_pool_and_unmigrated_upstream_are_one_line(tmp_path: Path) -> None:
    """No pool file, or an upstream behind head: one red line naming what to do."""
    env = {"EGP_GENE_POOL_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    missing = egp(env, "pool", "stats", cwd=tmp_path)
    assert missing.returncode == 2 and "egp db upgrade" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    pool = f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade(pool)
    env = {"EGP_GENE_POOL_URL": pool, "EGP_LIBRARY_URLS": json.dumps([f"sqlite:///{tmp_path / 'lib.db'}"])}
    push = egp(env, "library", "push", cwd=tmp_path)
    assert push.returncode == 2 and "egp db upgrade" in push.stderr
    no_upstream = egp({"EGP_GENE_POOL_URL": pool, "EGP_LIBRARY_URLS": "[]"}, "library", "push", cwd=tmp_path)
    assert no_upstream.returncode == 2 and "EGP_LIBRARY_URLS" in no_upstream.stderr


def test_prepare_refuses_an_old_schema_without_auto_upgrade(tmp_path: Path) -> None:
    """With EGP_DBMANAGER_AUTO_UPGRADE off, a database behind head is refused naming `egp db upgrade`."""
    from alembic import command

    from egp.config import load_settings
    from egp.db import get_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config()
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with pytest.raises(SchemaNotAtHeadError, match="egp db upgrade"):
        prepare_database(url, load_settings(dbmanager_auto_upgrade=False))
    assert prepare_database(url, load_settings())["upgraded"] and current(url).at_head


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_gc_show_reads_lineage_and_statistics_from_the_pool(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], sqlite_url: str, tmp_path: Path
) -> None:
    """`egp gc show SIGNATURE` (and its alias `egp pool gc`) reports from the Gene Pool: ancestors (an
    archived one too), the pGC that made the GC, statistics per problem with their counts and the pGC's layer
    statistics."""
    from sqlalchemy import text

    from egp.engine.gene_pool import PgcStats
    from egp.genetic_code.codons import codon_registry
    from egp.genetic_code.gc import build_gc
    from egp.storage.sql_pool import GC_COLUMNS

    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else sqlite_url
    gcs = make_gcs(4, seed=47)
    parent = gcs[-1]
    by_signature = {c.signature: c for c in codon_registry()} | {g.signature: g for g in gcs}
    maker = codon_registry().by_name("pgc_stack")
    assert parent.gca is not None and parent.gcb is not None
    child = build_gc(
        parent.graph,
        by_signature[parent.gca],
        by_signature[parent.gcb],
        ancestora=parent.signature,
        pgc=maker.signature,
    )
    pool = SQLGenePool(url)
    pool.put_many([maker])
    pool.record_epoch(
        EpochRecord(
            problem=PROBLEM,
            new_gcs=[*gcs, child],
            problem_stats={child.signature: ProblemStats(1.5, 2, 0.5, 1, 0.25, 3)},
            pgc_stats={(maker.signature, 1): PgcStats(1.5, 3, 0.5, 2)},
        )
    )
    names = ", ".join(GC_COLUMNS)
    with pool.transaction() as connection:
        connection.execute(
            text("UPDATE problems SET name = 'cli-problem' WHERE identity = :p"), {"p": PROBLEM}
        )
        # The parent retires to the archive: the child's lineage stays readable.
        connection.execute(
            text(
                f"INSERT INTO archive ({names}, retired) SELECT {names}, :now FROM genetic_codes"
                " WHERE signature = :s"
            ),
            {"s": parent.signature, "now": pool.now()},
        )
        connection.execute(text("DELETE FROM genetic_codes WHERE signature = :s"), {"s": parent.signature})
    env = {"EGP_GENE_POOL_URL": url}

    shown = egp(env, "gc", "show", child.signature.hex(), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert {"signature", "graph", "source", "gca", "gcb", "generation"} <= set(info)
    recorded = egp(env, "pool", "gc", child.signature.hex(), "--json", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    # `egp pool gc` is an alias of `egp gc show`: the same report.
    assert recorded.stdout == shown.stdout
    assert info["pgc_layers"] == []
    assert info["archived"] is False and info["creator"] == str(child.creator)
    lineage = info["lineage"]
    assert lineage["ancestora"] == {"signature": parent.signature.hex(), "stored": True, "archived": True}
    assert lineage["ancestorb"] is None
    assert lineage["pgc"] == {"signature": maker.signature.hex(), "stored": True, "archived": False}
    assert lineage["gca"]["signature"] == parent.gca.hex() and lineage["gca"]["stored"]
    assert info["statistics"] == [
        {
            "problem": PROBLEM.hex(),
            "name": "cli-problem",
            "fitness": 0.75,
            "evaluations": 2,
            "evolvability": 0.5,
            "evolvability_count": 1,
            "survivability": 0.25,
            "descendants": 3,
        }
    ]
    # The pGC's own record carries its layer statistics.
    made_by = json.loads(egp(env, "gc", "show", maker.signature.hex(), "--json", cwd=tmp_path).stdout)
    assert made_by["pgc_layers"] == [
        {"layer": 1, "fitness": 0.5, "uses": 3, "evolvability": 0.25, "evolvability_count": 2}
    ]
    assert made_by["statistics"] == []
    # An archived GC is still shown, and says so.
    retired = json.loads(egp(env, "gc", "show", parent.signature.hex(), "--json", cwd=tmp_path).stdout)
    assert retired["archived"] is True and retired["lineage"]["gca"]["stored"]

    plain = egp(env, "gc", "show", child.signature.hex(), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert f"ancestora {parent.signature.hex()}  (archived)" in plain.stdout
    assert f"pgc       {maker.signature.hex()}  (stored)" in plain.stdout
    assert "problem cli-problem: fitness 0.75 over 2 evaluations, evolvability 0.5 over 1" in plain.stdout
    assert "survivability 0.25, descendants 3" in plain.stdout
    layers = egp(env, "gc", "show", maker.signature.hex(), cwd=tmp_path).stdout
    assert "pGC layer 1: fitness 0.5 over 3 uses, evolvability 0.25 over 2" in layers


def test_gc_show_without_a_pool_has_null_lineage(tmp_path: Path) -> None:
    """No Gene Pool file: a codon is still shown, with `lineage` and `statistics` null."""
    from egp.genetic_code.codons import codon_registry

    add = codon_registry().by_name("float_add")
    env = {"EGP_GENE_POOL_URL": f"sqlite:///{tmp_path / 'absent.db'}"}
    shown = egp(env, "gc", "show", add.signature.hex(), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["lineage"] is None and info["statistics"] is None
    assert not (tmp_path / "absent.db").exists()
