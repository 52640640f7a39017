"""End to end: `egp evolve koza-quartic --seed 1 --json --gene-pool memory://` solves the problem, its best
program computes x⁴ + x³ + x² + x, and a second run gives the same best GC."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EGP = str(Path(sys.executable).parent / "egp")
COMMAND = [EGP, "evolve", "koza-quartic", "--seed", "1", "--json", "--gene-pool", "memory://"]
KEYS = {
    "problem",
    "solved",
    "best_fitness",
    "evaluations",
    "generations",
    "seconds",
    "best_signature",
    "best_source",
}


def best_function(source: str) -> Any:
    """The function defined by `best_source`, exec'd in a fresh namespace."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "<best_source>", "exec"), namespace)
    functions = [value for name, value in namespace.items() if name.startswith("gc_") and callable(value)]
    assert len(functions) == 1, sorted(namespace)
    return functions[0]


@pytest.mark.slow
def test_egp_evolve_koza_quartic_solves_it_reproducibly(tmp_path: Path) -> None:
    """Two runs in parallel subprocesses: both solve, agree on the best signature, and the best source is
    x⁴ + x³ + x² + x within 0.02 at five points."""
    runs = [
        subprocess.Popen(COMMAND, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        for _ in range(2)
    ]
    summaries = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=240)
        assert run.returncode == 0, stderr
        lines = stdout.strip().splitlines()
        assert len(lines) == 1, "--json prints exactly one JSON object"
        summaries.append(json.loads(lines[0]))
    first, second = summaries
    assert set(first) >= KEYS
    assert first["problem"] == "koza-quartic"
    assert first["solved"] is True, {k: first[k] for k in KEYS - {"best_source"}}
    assert first["best_fitness"] >= 0.99
    assert first["evaluations"] > 0 and first["generations"] > 0
    assert len(first["best_signature"]) == 64
    function = best_function(first["best_source"])
    for x in (-1.0, -0.5, 0.0, 0.3, 0.9):
        assert math.isclose(function(x), x**4 + x**3 + x**2 + x, abs_tol=0.02), x
    assert second["best_signature"] == first["best_signature"]
    assert second["best_source"] == first["best_source"]
    assert (second["evaluations"], second["generations"]) == (first["evaluations"], first["generations"])
