"""Search effectiveness: EGP (meta-evolution on and off) against DEAP on the same problems and budgets.

`python -m benchmarks search --json` runs, in one invocation, for koza-quartic, even-parity-3 and
multiplexer-6: EGP with meta-evolution on, EGP with it off, and DEAP with its own example settings adapted to
the same function set (`benchmarks/deap_baselines.py`), each over the same seeds and evaluation budget. It
reports success rate, median evaluations to solution, evaluations per second and wall time, the EGP caches'
hit rates, and a profile of where an EGP offspring's time goes (mutation, stabilisation, signature,
evaluation, bookkeeping) from one profiled koza-quartic run. Runs are spread over `--workers` processes.
For tuning, `--set KEY=VALUE` overrides an engine setting in every EGP run and `--first-seed` moves the seed
range (e.g. `--problems multiplexer-6 --no-deap --no-meta-off --no-profile --set pgc_pool_limit=14`).
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import pstats
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from benchmarks.deap_baselines import DEFAULT_BUDGETS, deap_search

PROBLEMS = ("koza-quartic", "even-parity-3", "multiplexer-6")


def egp_run(
    problem: str, seed: int, budget: int, meta: bool, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One EGP run with the default engine settings (and `overrides`); the figures the summary needs."""
    from egp.engine.config import EvolutionConfig
    from egp.engine.evolve import evolve_problem
    from egp.engine.gene_pool import MemoryGenePool
    from egp.problems.registry import get_problem

    config = EvolutionConfig(
        seed=seed,
        max_evaluations=budget,
        generations=1_000_000,
        meta_evolution=meta,
        **(overrides or {}),
    )
    result = evolve_problem(get_problem(problem), config, MemoryGenePool())
    return {
        "solved": result.solved,
        "evaluations": result.evaluations,
        "evaluations_to_solution": result.evaluations if result.solved else None,
        "seconds": result.seconds,
        "output_cache_hit_rate": result.output_cache_hit_rate,
        "score_cache_hits": result.score_cache_hits,
        "offspring": result.offspring,
        "stillborn": result.stillborn,
    }


def _deap_run(problem: str, seed: int, budget: int) -> dict[str, Any]:
    return deap_search(problem, seed, budget)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rate, median evaluations to solution, evaluations per second and median wall time."""
    solved = [r["evaluations_to_solution"] for r in runs if r["solved"]]
    seconds = sum(r["seconds"] for r in runs)
    summary: dict[str, Any] = {
        "runs": len(runs),
        "success_rate": len(solved) / len(runs) if runs else 0.0,
        "median_evaluations_to_solution": statistics.median(solved) if solved else None,
        "evals_per_s": sum(r["evaluations"] for r in runs) / seconds if seconds > 0 else 0.0,
        "median_seconds": statistics.median(r["seconds"] for r in runs) if runs else 0.0,
    }
    if runs and "output_cache_hit_rate" in runs[0]:
        summary["output_cache_hit_rate"] = statistics.fmean(r["output_cache_hit_rate"] for r in runs)
        offspring = sum(r["offspring"] for r in runs)
        summary["stillborn_rate"] = sum(r["stillborn"] for r in runs) / offspring if offspring else 0.0
        summary["score_cache_hit_rate"] = (
            sum(r["score_cache_hits"] for r in runs) / offspring if offspring else 0.0
        )
    return summary


# Where an offspring's time goes, by the file (or function) whose own time it is. "mutation" includes building
# the new GC nodes and graphs and running the pGC; "pgc selection" is the 4/2/1 choice and meta-evolution
# bookkeeping; "bookkeeping" is everything else (statistics, survivors, persistence, the RNG).
_FUNCTION_GROUPS = {"select_pgc": "pgc selection", "use_pgc": "pgc selection", "credit": "pgc selection"}
_GROUPS = {
    "mutation": (
        "egp/physics/mutations.py",
        "egp/physics/context.py",
        "egp/genetic_code/gc.py",
        "egp/genetic_code/graph.py",
        "egp/genetic_code/assembly.py",
        "egp/genetic_code/execution.py",
    ),
    "stabilisation": ("egp/physics/stabilise.py",),
    "signature": ("egp/genetic_code/signature.py", "_hashlib"),
    "evaluation": ("egp/engine/evaluation.py", "egp/problems/", "codon_runtime.py", "numpy/"),
}


def _group(filename: str, function: str) -> str:
    if function in _FUNCTION_GROUPS:
        return _FUNCTION_GROUPS[function]
    return next(
        (g for g, parts in _GROUPS.items() if any(p in filename or p in function for p in parts)),
        "bookkeeping",
    )


def offspring_profile(min_offspring: int = 20_000, budget: int = 20_000) -> dict[str, Any]:
    """Where an offspring's time goes on koza-quartic: own time of each area's functions, over whole runs
    (seeds 0, 1, … until `min_offspring` offspring were bred, so start-up does not dominate)."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    offspring = 0
    seed = 0
    while offspring < min_offspring:
        profiler.enable()
        run = egp_run("koza-quartic", seed, budget, True)
        profiler.disable()
        offspring += run["offspring"]
        seed += 1
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    totals = dict.fromkeys([*_GROUPS, "pgc selection", "bookkeeping"], 0.0)
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        totals[_group(filename, name)] += own
    total = sum(totals.values())
    return {
        "runs": seed,
        "offspring": offspring,
        "wall_seconds_profiled": wall,
        "share": {group: value / total for group, value in totals.items()},
        "microseconds_per_offspring": {group: 1e6 * value / offspring for group, value in totals.items()},
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks search")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-deap", action="store_true", help="skip the DEAP side")
    parser.add_argument("--no-meta-off", action="store_true", help="skip EGP with meta-evolution off")
    parser.add_argument("--no-profile", action="store_true", help="skip the offspring profile")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, …")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an EvolutionConfig override for the EGP runs (a Python literal), e.g. pgc_pool_limit=14",
    )
    args = parser.parse_args(argv)
    overrides = {key: ast.literal_eval(value) for key, value in (item.split("=", 1) for item in args.set)}

    results: dict[str, Any] = {"benchmark": "search", "seeds": args.seeds, "problems": {}}
    if overrides:
        results["overrides"] = overrides
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        for problem in args.problems:
            budget = DEFAULT_BUDGETS[problem]
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            n = len(seeds)
            settings = [overrides] * n
            on = list(pool.map(egp_run, [problem] * n, seeds, [budget] * n, [True] * n, settings))
            entry: dict[str, Any] = {"budget": budget, "egp_meta_on": summarise(on)}
            if not args.no_meta_off:
                off = list(pool.map(egp_run, [problem] * n, seeds, [budget] * n, [False] * n, settings))
                entry["egp_meta_off"] = summarise(off)
            if not args.no_deap:
                deap = list(pool.map(_deap_run, [problem] * n, seeds, [budget] * n))
                entry["deap"] = summarise(deap)
                deap_rate = entry["deap"]["evals_per_s"]
                entry["ratio_evals_per_s_vs_deap"] = (
                    entry["egp_meta_on"]["evals_per_s"] / deap_rate if deap_rate else None
                )
            results["problems"][problem] = entry
    if not args.no_profile:
        results["offspring_profile"] = offspring_profile()
    results["seconds"] = time.perf_counter() - started
    return results
