"""Search effectiveness: EGP (meta-evolution on and off) against DEAP on the same problems and budgets.

`python -m benchmarks search --json` runs, in one invocation, for koza-quartic, even-parity-3 and
multiplexer-6: EGP with meta-evolution on, EGP with it off, and DEAP with its own example settings adapted to
the same function set (`benchmarks/deap_baselines.py`), each over the same seeds and evaluation budget. It
reports success rate, median evaluations to solution, evaluations per second, wall time and the expected
seconds to a solution (all wall time over the solved runs) with its ratio to DEAP's, the EGP caches' hit
rates, and a profile of where an EGP offspring's time goes (mutation, stabilisation, signature, evaluation,
bookkeeping; the phases of a run; the functions with most own time) from profiled koza-quartic runs
(`--profile-problems` for others). Runs are spread over `--workers` processes.
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


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    """ours / theirs, or None where either side never solved (no expected time) or theirs is zero."""
    if ours is None or not theirs:
        return None
    return ours / theirs


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
        # The standard expected time to success: all wall time spent (failed runs too) per solved run.
        "expected_seconds_to_solution": seconds / len(solved) if solved else None,
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


# Whole phases of a run, by the cumulative time of their entry point (each includes what it calls): the
# initial population, breeding offspring (pGC runs on solutions), meta-evolution (pGCs evolving pGCs),
# scoring, and survivor selection.
_PHASES = {
    "initial population": ("egp/engine/engine.py", "initial_population"),
    "breeding": ("egp/engine/breeding.py", "_mutate_each"),
    "meta-evolution (evolve_pgc)": ("egp/engine/meta_evolution.py", "evolve_pgc"),
    "scoring": ("egp/engine/engine.py", "score"),
    "survivor selection": ("egp/engine/survival.py", "select_survivors"),
}
TOP_FUNCTIONS = 15


def offspring_profile(
    problem: str = "koza-quartic", min_offspring: int = 20_000, budget: int | None = None
) -> dict[str, Any]:
    """Where an offspring's time goes on `problem`: own time of each area's functions, the cumulative share
    of each phase of a run, and the functions with the most own time, over whole runs (seeds 0, 1, … until
    `min_offspring` offspring were bred, so start-up does not dominate)."""
    budget = budget if budget is not None else DEFAULT_BUDGETS[problem]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    offspring = 0
    seed = 0
    while offspring < min_offspring:
        profiler.enable()
        run = egp_run(problem, seed, budget, True)
        profiler.disable()
        offspring += run["offspring"]
        seed += 1
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    entries = stats.stats.items()  # type: ignore[attr-defined]
    totals = dict.fromkeys([*_GROUPS, "pgc selection", "bookkeeping"], 0.0)
    phases = dict.fromkeys(_PHASES, 0.0)
    functions: list[tuple[float, float, int, str]] = []
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in entries:
        totals[_group(filename, name)] += own
        for phase, (path, function) in _PHASES.items():
            if name == function and filename.endswith(path):
                phases[phase] += cumulative
        short = filename.split("site-packages/")[-1].split("/egp/", 1)[-1]
        functions.append((own, cumulative, calls, f"{short}:{line}({name})"))
    total = sum(totals.values())
    functions.sort(reverse=True)
    return {
        "problem": problem,
        "runs": seed,
        "offspring": offspring,
        "wall_seconds_profiled": wall,
        "share": {group: value / total for group, value in totals.items()},
        "microseconds_per_offspring": {group: 1e6 * value / offspring for group, value in totals.items()},
        "phase_share": {phase: value / total for phase, value in phases.items()},
        "top_functions": [
            {"function": where, "own_share": own / total, "cumulative_share": cum / total, "calls": calls}
            for own, cum, calls, where in functions[:TOP_FUNCTIONS]
        ],
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
    parser.add_argument(
        "--profile-problems",
        nargs="+",
        default=["koza-quartic"],
        help="the problems to profile (20,000 offspring each, at least one whole run)",
    )
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
                for side in ("egp_meta_on", "egp_meta_off"):
                    if side in entry:
                        entry[side]["ratio_expected_seconds_vs_deap"] = _ratio(
                            entry[side]["expected_seconds_to_solution"],
                            entry["deap"]["expected_seconds_to_solution"],
                        )
            if "egp_meta_off" in entry:
                off_rate = entry["egp_meta_off"]["evals_per_s"]
                entry["ratio_evals_per_s_meta_on_vs_off"] = (
                    entry["egp_meta_on"]["evals_per_s"] / off_rate if off_rate else None
                )
            results["problems"][problem] = entry
    if not args.no_profile:
        profiles = [offspring_profile(problem) for problem in args.profile_problems]
        results["offspring_profile"] = profiles[0] if len(profiles) == 1 else profiles
    results["seconds"] = time.perf_counter() - started
    return results
