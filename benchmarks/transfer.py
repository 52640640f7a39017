"""Learning across problems: do a Gene Pool warmed by related problems, and evolved operators, make later
problems cheaper?

`python -m benchmarks transfer --json [--seeds N] [--budget E] [--curricula a,b,c] [--workers W] [--no-deap]`

Curricula: parity (even-parity 3→4→5→6), polynomial (2→3→4→5→6), multiplexer (6→11). Per seed and curriculum:
- warm: one fresh Gene Pool, every step in order (each to solution or its budget);
- cold: each step alone on an empty Gene Pool, same seed and budget;
- warm-no-meta: warm with meta-evolution off (reused GCs, fixed bootstrap pGCs), to separate the mechanisms;
- DEAP on the last two steps at the same budget.
Per step: success rate, median evaluations to solution (unsolved runs count at the budget), median wall
seconds, and one-sided Mann–Whitney U p-values (scipy) for warm < cold and warm < warm-no-meta. The
minimums of the learning issue are evaluated on the last two steps of each curriculum.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

CURRICULA: dict[str, tuple[str, ...]] = {
    "parity": ("even-parity-3", "even-parity-4", "even-parity-5", "even-parity-6"),
    "polynomial": ("polynomial-2", "polynomial-3", "koza-quartic", "polynomial-5", "polynomial-6"),
    "multiplexer": ("multiplexer-6", "multiplexer-11"),
}
MODES = ("warm", "cold", "warm-no-meta")


def run_chain(
    curriculum: str, mode: str, seed: int, budget: int, sources: str | None = None
) -> list[dict[str, Any]]:
    """One curriculum in one mode for one seed: each step's solved, evaluations (to solution) and seconds."""
    from egp import evolve
    from egp.engine.gene_pool import MemoryGenePool
    from egp.engine.sources import parse_sources

    extra: dict[str, Any] = {} if sources is None else {"sources": parse_sources(sources)}
    steps = []
    pool = MemoryGenePool()
    for problem in CURRICULA[curriculum]:
        if mode == "cold":
            pool = MemoryGenePool()
        started = time.perf_counter()
        result = evolve(
            problem,
            seed=seed,
            gene_pool=pool,
            max_evaluations=budget,
            generations=10**6,
            meta_evolution=mode != "warm-no-meta",
            **extra,
        )
        steps.append(
            {
                "problem": problem,
                "solved": result.solved,
                "evaluations": result.evaluations if result.solved else budget,
                "seconds": time.perf_counter() - started,
            }
        )
    return steps


def run_deap(problem: str, seed: int, budget: int) -> dict[str, Any]:
    """DEAP's eaSimple on `problem` with the same budget."""
    from benchmarks.deap_baselines import deap_search

    run = deap_search(problem, seed, budget)
    solved = bool(run["solved"])
    return {
        "problem": problem,
        "solved": solved,
        "evaluations": run["evaluations_to_solution"] if solved else budget,
        "seconds": run["seconds"],
    }


def _p_less(first: list[int], second: list[int]) -> float | None:
    """One-sided Mann–Whitney U p-value that `first` tends to be smaller than `second`."""
    from scipy.stats import mannwhitneyu

    if len(first) < 2 or len(second) < 2 or len(set(first) | set(second)) < 2:
        return None
    return float(mannwhitneyu(first, second, alternative="less").pvalue)


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Success rate, median evaluations (unsolved at the budget) and median seconds of one step's runs."""
    return {
        "success_rate": sum(r["solved"] for r in runs) / len(runs),
        "median_evaluations": statistics.median(r["evaluations"] for r in runs),
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 3),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the transfer benchmark and return its report."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks transfer")
    parser.add_argument("--seeds", type=int, default=20, help="seeds per curriculum and mode")
    parser.add_argument("--budget", type=int, default=100_000, help="evaluations per step")
    parser.add_argument(
        "--curricula", default=",".join(CURRICULA), help="comma-separated: " + ", ".join(CURRICULA)
    )
    parser.add_argument("--workers", type=int, default=2, help="processes running chains side by side")
    parser.add_argument("--no-deap", action="store_true", help="leave DEAP out")
    parser.add_argument("--sources", default=None, help="initial sources of every run, e.g. best=0.5:none")
    args = parser.parse_args(argv)
    chosen = [c.strip() for c in args.curricula.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CURRICULA]
    if unknown:
        raise SystemExit(f"unknown curricula {unknown}; known: {', '.join(CURRICULA)}")
    started = time.perf_counter()
    jobs = [(c, m, s) for c in chosen for m in MODES for s in range(args.seeds)]
    deap_jobs = (
        [] if args.no_deap else [(p, s) for c in chosen for p in CURRICULA[c][-2:] for s in range(args.seeds)]
    )
    with ProcessPoolExecutor(max_workers=args.workers) as executor:
        chains = {job: executor.submit(run_chain, *job, args.budget, args.sources) for job in jobs}
        deaps = {job: executor.submit(run_deap, *job, args.budget) for job in deap_jobs}
        chain_results = {job: future.result() for job, future in chains.items()}
        deap_results = {job: future.result() for job, future in deaps.items()}
    report: dict[str, Any] = {
        "seeds": args.seeds,
        "budget_per_step": args.budget,
        "workers": args.workers,
        "sources": args.sources or "defaults",
        "curricula": {},
    }
    minimums: list[dict[str, Any]] = []
    for curriculum in chosen:
        rows = []
        steps = CURRICULA[curriculum]
        for index, problem in enumerate(steps):
            by_mode = {
                mode: [chain_results[(curriculum, mode, s)][index] for s in range(args.seeds)]
                for mode in MODES
            }
            row: dict[str, Any] = {"step": index + 1, "problem": problem}
            for mode, runs in by_mode.items():
                row[mode] = _summary(runs)
            evaluations = {mode: [r["evaluations"] for r in runs] for mode, runs in by_mode.items()}
            row["p_value_warm_lt_cold"] = _p_less(evaluations["warm"], evaluations["cold"])
            row["p_value_warm_lt_no_meta"] = _p_less(evaluations["warm"], evaluations["warm-no-meta"])
            deap_runs = [
                deap_results[(problem, s)] for s in range(args.seeds) if (problem, s) in deap_results
            ]
            if deap_runs:
                row["deap"] = _summary(deap_runs)
            rows.append(row)
            if index >= len(steps) - 2:
                warm, cold = row["warm"]["median_evaluations"], row["cold"]["median_evaluations"]
                p = row["p_value_warm_lt_cold"]
                minimums.append(
                    {
                        "curriculum": curriculum,
                        "problem": problem,
                        "warm_over_cold": round(warm / cold, 3) if cold else None,
                        "p_value": p,
                        "holds": bool(cold and warm <= 0.5 * cold and p is not None and p < 0.05),
                    }
                )
        report["curricula"][curriculum] = rows
    report["minimum_warm_le_half_cold_p_lt_0_05"] = minimums
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    return report
