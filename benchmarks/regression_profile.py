"""Where an EGP regression fit's time goes: scoring GCs on the table, or the rest (breeding, bookkeeping).

`python -m benchmarks regression_profile --json [--dataset friedman1-10000] [--evaluations 20000] [--reps 2]`
fits `EGPRegressor` (defaults, seed 0) on the data set's training split with an evaluation budget (not a
wall budget, so every repetition does the same work), three ways, each repeated and timed in CPU seconds
(the machine is shared: wall time would mostly measure the other processes):

- **fit**: the fit as it is;
- **without scoring**: the same fit with each GC's score looked up from the first fit's — the run is
  deterministic, so it breeds exactly the same GCs — which is the cost of everything but scoring;
- **replay**: the GCs the fit scored, scored again in order by a fresh `CaseEvaluator` alone, with its
  counters: sub-GC cache hits and misses per GC, and cache flushes.

Scoring's share is fit minus "without scoring"; the replay shows what one scored GC costs inside scoring.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from benchmarks.regression import DATASETS, load


def main(argv: list[str]) -> dict[str, Any]:
    """Time a seeded fit with and without scoring, and replay its scoring alone."""
    from egp.engine import evaluation
    from egp.sklearn import EGPRegressor

    parser = argparse.ArgumentParser(prog="python -m benchmarks regression_profile")
    parser.add_argument("--dataset", default="friedman1-10000", choices=DATASETS)
    parser.add_argument("--evaluations", type=int, default=20_000, help="GCs scored per fit (default 20,000)")
    parser.add_argument("--reps", type=int, default=2, help="repetitions; the fastest counts (default 2)")
    args = parser.parse_args(argv)
    if args.evaluations < 1 or args.reps < 1:
        parser.error("--evaluations and --reps must be at least 1")
    features, y, test_features, y_test = load(args.dataset)
    original = evaluation.CaseEvaluator.score
    book: dict[bytes, Any] = {}
    scored: list[Any] = []
    evaluators: list[Any] = []

    def recording(self: Any, gc: Any) -> Any:
        score = original(self, gc)
        if not evaluators:
            evaluators.append(self)
        book[gc.signature] = score
        scored.append(gc)
        return score

    def looked_up(self: Any, gc: Any) -> Any:
        self.evaluations += 1
        return book[gc.signature]

    def fit() -> tuple[float, Any]:
        started = time.process_time()
        model = EGPRegressor(generations=10**9, max_evaluations=args.evaluations, random_state=0)
        model.fit(features, y)
        return time.process_time() - started, model

    try:
        evaluation.CaseEvaluator.score = recording  # type: ignore[method-assign]
        first, model = fit()
        evaluation.CaseEvaluator.score = original  # type: ignore[method-assign]
        with_scoring = min([first, *(fit()[0] for _ in range(args.reps - 1))])
        evaluation.CaseEvaluator.score = looked_up  # type: ignore[method-assign]
        without = [fit() for _ in range(args.reps)]
    finally:
        evaluation.CaseEvaluator.score = original  # type: ignore[method-assign]
    same = all(m.program_ == model.program_ for _, m in without)
    without_scoring = min(seconds for seconds, _ in without)
    replay = _replay(evaluators[0], scored, args.reps)
    count = model.evaluations_
    return {
        "benchmark": "regression_profile",
        "dataset": args.dataset,
        "training_rows": int(evaluators[0].count),
        "evaluations": count,
        "test_r2": float(model.score(test_features, y_test)),
        "cpu_seconds_fit": with_scoring,
        "cpu_seconds_without_scoring": without_scoring,
        "scoring_share": (with_scoring - without_scoring) / with_scoring,
        "us_per_gc_fit": 1e6 * with_scoring / count,
        "us_per_gc_scoring": 1e6 * (with_scoring - without_scoring) / count,
        "us_per_gc_rest": 1e6 * without_scoring / count,
        "same_program_without_scoring": same,
        "replay": replay,
    }


def _replay(template: Any, scored: list[Any], reps: int) -> dict[str, Any]:
    """Score `scored` in order with fresh evaluators like `template`; the fastest repetition's figures."""
    from egp.engine.evaluation import CaseEvaluator

    best: dict[str, Any] = {}
    for _ in range(reps):
        evaluator = CaseEvaluator(template.problem, template.executor, template.budget)
        evaluator.numpy_quiet = True
        with np.errstate(all="ignore"):
            started = time.process_time()
            for gc in scored:
                evaluator.score(gc)
            seconds = time.process_time() - started
        if best and seconds >= best["cpu_seconds"]:
            continue
        count = len(scored)
        best = {
            "cpu_seconds": seconds,
            "us_per_gc": 1e6 * seconds / count,
            "cache_hits_per_gc": evaluator.hits / count,
            "cache_misses_per_gc": evaluator.misses / count,
            "flushes": evaluator.flushes,
            "mean_codons": float(np.mean([gc.num_codons for gc in scored])),
        }
    return best
