"""Code generation and execution speed: EGP (vectorised and scalar) against DEAP's `gp.compile`, one run.

`python -m benchmarks codegen --json` builds N random programs of 5-40 codons over `+ - * protected-/` and
one float input (the same prefix trees for both systems), and evaluates each on the 20 Koza points (x in
[-1, 1)): EGP once vectorised (one pass over a numpy array of all 20 points) and once in scalar mode
(compiled, called per point); DEAP compiles each tree with `gp.compile` and calls it per point. Every
program is new to the executor, so preparation (flattening, compiling) is included in the figures.
Repetitions are interleaved so that the three contenders share the machine's noise; medians are reported,
with the ratios to DEAP.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

import numpy as np

from benchmarks.deap_baselines import KOZA_POINTS, deap_codegen, random_trees
from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES

_CODON_OF = {"add": "float_add", "sub": "float_sub", "mul": "float_mul", "pdiv": "float_pdiv"}


def _expression(prefix: list[str], position: int = 0) -> tuple[Expr, int]:
    """Parse a prefix tree (binary primitives, terminal `x`) into an EGP expression."""
    name = prefix[position]
    if name not in _CODON_OF:
        return Expr(None, (), 0), position + 1
    left, position = _expression(prefix, position + 1)
    right, position = _expression(prefix, position)
    return Expr(codon_registry().by_name(_CODON_OF[name]), (left, right)), position


def build_programs(
    n: int, min_codons: int, max_codons: int, seed: int
) -> tuple[list[GeneticCode], dict[bytes, GeneticCode]]:
    """EGP GCs for the same random trees DEAP uses, and the store holding them and their sub-GCs."""
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [TYPES.uid("float")])
    programs = [
        assembler.assemble(_expression(tree)[0]) for tree in random_trees(n, min_codons, max_codons, seed)
    ]
    return programs, store


def _time_vectorised(
    programs: list[GeneticCode], store: dict[bytes, GeneticCode], points: np.ndarray
) -> tuple[float, Executor]:
    executor = Executor(store)
    start = time.perf_counter()
    executor.evaluate_many(programs, [points])
    return time.perf_counter() - start, executor


def _time_scalar(
    programs: list[GeneticCode], store: dict[bytes, GeneticCode], points: list[float]
) -> tuple[float, Executor]:
    executor = Executor(store)
    start = time.perf_counter()
    for gc in programs:
        function = executor.scalar_function(gc)
        for x in points:
            function(x)
    return time.perf_counter() - start, executor


def _check_agreement(
    programs: list[GeneticCode], store: dict[bytes, GeneticCode], points: list[float]
) -> int:
    """Count programs whose vectorised and scalar results differ (they must not)."""
    executor = Executor(store)
    array = np.array(points)
    mismatches = 0
    for gc in programs[:200]:
        vector = np.broadcast_to(np.asarray(executor.evaluate(gc, [array])[0], dtype=float), array.shape)
        scalar_fn = executor.scalar_function(gc)
        scalar = np.array([scalar_fn(x) for x in points], dtype=float)
        if not np.allclose(vector, scalar, equal_nan=True, rtol=1e-12, atol=0.0):
            mismatches += 1
    return mismatches


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks codegen")
    parser.add_argument("--n", type=int, default=10_000, help="number of random programs")
    parser.add_argument("--min-codons", type=int, default=5)
    parser.add_argument("--max-codons", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args(argv)

    build_start = time.perf_counter()
    programs, store = build_programs(args.n, args.min_codons, args.max_codons, args.seed)
    build_seconds = time.perf_counter() - build_start
    points = [float(x) for x in KOZA_POINTS]
    array = np.array(points)
    vectorised: list[float] = []
    scalar: list[float] = []
    deap: list[float] = []
    executor: Executor | None = None
    for _ in range(args.repetitions):
        seconds, _ = _time_vectorised(programs, store, array)
        vectorised.append(seconds)
        seconds, executor = _time_scalar(programs, store, points)
        scalar.append(seconds)
        deap.append(
            deap_codegen(args.n, args.min_codons, args.max_codons, args.seed, repetitions=1)["seconds"]
        )
    n = len(programs)
    vec_rate = n / statistics.median(vectorised)
    scalar_rate = n / statistics.median(scalar)
    deap_rate = n / statistics.median(deap)
    assert executor is not None
    return {
        "benchmark": "codegen",
        "programs": n,
        "mean_codons": statistics.fmean(gc.num_codons for gc in programs),
        "points": len(points),
        "repetitions": args.repetitions,
        "egp_vectorised_evals_per_s": vec_rate,
        "egp_scalar_evals_per_s": scalar_rate,
        "deap_evals_per_s": deap_rate,
        "ratio_vectorised_vs_deap": vec_rate / deap_rate,
        "ratio_scalar_vs_deap": scalar_rate / deap_rate,
        "egp_build_programs_per_s": n / build_seconds if build_seconds > 0 else math.inf,
        "l1_hit_rate": executor.l1.hit_rate,
        "l1_entries": len(executor.l1),
        "vectorised_scalar_mismatches": _check_agreement(programs, store, points),
        "seconds": {"vectorised": vectorised, "scalar": scalar, "deap": deap},
    }
