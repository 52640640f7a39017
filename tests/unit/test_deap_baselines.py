"""Small, fast checks of the DEAP baselines (skipped when deap is not installed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("deap")

from benchmarks import deap_baselines as db

ROOT = Path(__file__).resolve().parents[2]


def test_random_trees_are_deterministic_and_sized() -> None:
    trees = db.random_trees(50, 5, 40, seed=3)
    assert trees == db.random_trees(50, 5, 40, seed=3)
    assert trees != db.random_trees(50, 5, 40, seed=4)
    sizes = db.random_tree_sizes(50, 5, 40, seed=3)
    assert len(sizes) == 50 and all(5 <= k <= 40 for k in sizes)
    for tree, k in zip(trees, sizes, strict=True):
        assert len(tree) == 2 * k + 1  # binary primitives: k primitives, k + 1 terminals
        assert set(tree) <= {*db.CODEGEN_PRIMITIVES, db.CODEGEN_TERMINAL}
        assert tree[0] in db.CODEGEN_PRIMITIVES


def test_prefix_tree_round_trip() -> None:
    pset = db.codegen_pset()
    prefix = ["add", "mul", "x", "x", "pdiv", "x", "sub", "x", "x"]
    tree = db.prefix_to_tree(prefix, pset)
    assert str(tree) == "add(mul(x, x), pdiv(x, sub(x, x)))"
    func = db.gp.compile(tree, pset)
    assert func(0.5) == 0.25 + 1.0  # x*x + x/(x-x) with protected division giving 1


def test_codegen_shape() -> None:
    result = db.deap_codegen(50, 5, 40, seed=1)
    assert result["n_trees"] == 50
    assert result["repetitions"] == 3 and len(result["seconds_per_repetition"]) == 3
    assert result["seconds"] == sorted(result["seconds_per_repetition"])[1]
    assert result["evals_per_s"] == pytest.approx(50 / result["seconds"])
    assert 5 <= result["mean_codons"] <= 40


@pytest.mark.parametrize("problem", ["koza-quartic", "even-parity-3", "multiplexer-6"])
def test_search_counts_are_consistent(problem: str) -> None:
    budget = 600
    result = db.deap_search(problem, seed=1, max_evaluations=budget)
    assert set(result) >= {"solved", "evaluations", "evaluations_to_solution", "generations", "seconds"}
    assert 0 < result["evaluations"] <= budget
    if result["solved"]:
        assert result["evaluations_to_solution"] == result["evaluations"]
    else:
        assert result["evaluations_to_solution"] is None
        assert result["evaluations"] == budget
    population = db.search_settings(problem)["population"]
    # Generation 0 evaluates the whole population; later ones at most a population each.
    assert result["evaluations"] <= population * (result["generations"] + 1)
    assert result["evals_per_s"] == pytest.approx(result["evaluations"] / result["seconds"])


def test_search_is_deterministic() -> None:
    first = db.deap_search("even-parity-3", seed=2, max_evaluations=400)
    second = db.deap_search("even-parity-3", seed=2, max_evaluations=400)
    for key in ("solved", "evaluations", "evaluations_to_solution", "generations"):
        assert first[key] == second[key]


def test_parity_solution_is_found_and_counted() -> None:
    result = db.deap_search("even-parity-3", seed=0, max_evaluations=20_000)
    assert result["solved"]
    assert result["evaluations"] == result["evaluations_to_solution"] > 300


def test_cases_match_egp_problems() -> None:
    from egp.problems import get_problem

    (x,) = get_problem("koza-quartic").cases().inputs
    assert tuple(x.tolist()) == db.KOZA_POINTS
    for name in ("even-parity-3", "multiplexer-6"):
        rows, targets = db.boolean_cases(name)
        cases = get_problem(name).cases()
        assert rows == cases.rows()
        assert targets == cases.targets[0].tolist()


def test_unknown_problem() -> None:
    with pytest.raises(ValueError, match="unknown problem 'nope'"):
        db.deap_search("nope", seed=0, max_evaluations=10)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_cli_json_and_unknown_name() -> None:
    done = _run("deap_baselines", "--json", "--mode", "codegen", "--n-trees", "20")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert payload["codegen"]["n_trees"] == 20
    table = _run(
        "deap_baselines", "--mode", "search", "--problems", "even-parity-3", "--seeds", "1", "--budget", "300"
    )
    assert table.returncode == 0, table.stderr
    assert "success_rate" in table.stdout
    bad = _run("nope")
    assert bad.returncode == 2
    assert "unknown benchmark 'nope'" in bad.stderr and "deap_baselines" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
