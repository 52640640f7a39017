"""What runs learn about problems, on SQLite and Postgres: names, relations merged like statistics, pGC layer
figures per family, and a curriculum seen through `egp problems related` and `egp curriculum`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from egp.config import DatabaseRole
from egp.curriculum import evolve_curriculum
from egp.engine.gene_pool import PgcLayerFigures, ProblemRelation
from egp.problems.registry import get_problem
from egp.storage.sql_pool import SQLGenePool

EGP = str(Path(sys.executable).parent / "egp")


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_relations_and_layer_figures_merge_by_addition(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], sqlite_url: str
) -> None:
    """Two deltas of one relation add up (the family distance is declared, not summed); layer figures too."""
    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else sqlite_url
    pool = SQLGenePool(url)
    a, b = bytes(32), bytes([1]) * 32
    pool.add_problem_relations([ProblemRelation(a, b, 1.0, 0.25, 1, 0.5, 1)])
    pool.add_problem_relations([ProblemRelation(a, b, None, 0.75, 1, 0.25, 1)])
    (relation,) = pool.problem_relations(b)
    assert relation == ProblemRelation(a, b, 1.0, 1.0, 2, 0.75, 2)
    assert relation.fitness_distance == 0.5 and relation.shared == 0.375
    pool.add_pgc_layer_figures([PgcLayerFigures("even-parity", 0, 1, 20, 5, 11.0, 0.5)] * 2)
    assert pool.pgc_layer_figures("even-parity") == [PgcLayerFigures("even-parity", 0, 2, 40, 10, 22.0, 1.0)]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_curriculum_leaves_its_relations_in_the_gene_pool(
    backend: str, postgres_databases: Callable[[DatabaseRole], str], sqlite_url: str
) -> None:
    """polynomial-2 then polynomial-3: the second step's run records its relation to the first, both
    problems are named, and the polynomial family has pGC figures for two runs."""
    url = postgres_databases(DatabaseRole.POOL) if backend == "postgres" else sqlite_url
    results = evolve_curriculum(
        ["polynomial-2", "polynomial-3"], gene_pool=url, seed=3, population=60, max_evaluations=3000
    )
    assert [r.problem for r in results] == ["polynomial-2", "polynomial-3"]
    pool = SQLGenePool(url)
    names = set(pool.problems().values())
    assert {"polynomial-2", "polynomial-3"} <= names
    (relation,) = pool.problem_relations(get_problem("polynomial-3").identity)
    assert relation.family_distance == 1.0 and relation.shared_count == 1
    assert all(f.runs == 2 for f in pool.pgc_layer_figures("polynomial"))


def test_egp_curriculum_and_problems_related_on_a_sqlite_pool(tmp_path: Path) -> None:
    """`egp curriculum` runs the steps in order and prints one JSON object; `egp problems related` then
    lists the earlier step with its evidence; a bad step name is one line and exit 2 before any run."""
    db = f"sqlite:///{tmp_path / 'p.db'}"
    run = subprocess.run(
        [EGP, "curriculum", "polynomial-2", "polynomial-3", "--seed", "1", "--population", "60",
         "--max-evaluations", "3000", "--gene-pool", db, "--json"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    steps = json.loads(run.stdout)["steps"]
    assert [s["problem"] for s in steps] == ["polynomial-2", "polynomial-3"]
    related = subprocess.run(
        [EGP, "problems", "related", "polynomial-3", "--gene-pool", db, "--json"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=120,
    )  # fmt: skip
    assert related.returncode == 0, related.stderr
    rows = json.loads(related.stdout)
    assert rows[0]["problem"] == "polynomial-2" and rows[0]["related"] and rows[0]["family_distance"] == 1.0
    bad = subprocess.run(
        [EGP, "curriculum", "polynomial-2", "even-parity-2", "--gene-pool", db],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=120,
    )  # fmt: skip
    assert (
        bad.returncode == 2 and bad.stderr.count("\n") == 1 and "even-parity-N needs N in 3…8" in bad.stderr
    )
    assert "Traceback" not in bad.stderr
