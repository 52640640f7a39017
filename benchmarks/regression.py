"""Symbolic regression on real and synthetic tables: EGP beside gplearn, DEAP (numpy) and pyoperon.

`python -m benchmarks regression --json [--seeds 10] [--budget 60] [--datasets ...] [--tools ...]` fits
scikit-learn's `load_diabetes` (442 × 10, real data shipped with scikit-learn) and `make_friedman1`
(noise 1.0, data seed 0) at n = 1,000 and 10,000 rows, each on one fixed 75/25 train/test split, with
every tool given the same single-process wall-clock budget per fit. For each data set and tool it reports
the test R² (median and interquartile range over the seeds), the model size, evaluations per second and
seconds (medians), then EGP's differences and ratios to each peer: median test R² minus the peer's, and
evaluations per second over the peer's. The issue's full configuration is 10 seeds at 60 s (about 2 hours).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from typing import Any

import numpy as np

from benchmarks.regression_peers import PACKAGES, RUNNERS

DATASETS = ("diabetes", "friedman1-1000", "friedman1-10000")


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data set's fixed 75/25 split: X_train, y_train, X_test, y_test."""
    from sklearn.datasets import load_diabetes, make_friedman1
    from sklearn.model_selection import train_test_split

    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    elif name.startswith("friedman1-"):
        X, y = make_friedman1(n_samples=int(name.split("-")[1]), noise=1.0, random_state=0)
    else:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    return (np.ascontiguousarray(X_train), y_train, np.ascontiguousarray(X_test), y_test)


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    """The 25th, 50th and 75th percentiles (non-finite values count as the lowest)."""
    finite = [v if math.isfinite(v) else -1e300 for v in values]
    q1, median, q3 = np.percentile(finite, [25, 50, 75])
    return float(q1), float(median), float(q3)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One tool's figures on one data set over the seeds."""
    q1, median, q3 = _quartiles([r["test_r2"] for r in runs])
    rates = [r["evaluations"] / r["seconds"] for r in runs if r["seconds"] > 0]
    return {
        "test_r2_median": median,
        "test_r2_iqr": q3 - q1,
        "test_r2_q1": q1,
        "test_r2_q3": q3,
        "size_median": float(np.median([r["size"] for r in runs])),
        "evals_per_s_median": float(np.median(rates)) if rates else 0.0,
        "seconds_median": float(np.median([r["seconds"] for r in runs])),
        "runs": len(runs),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Fit every tool on every data set over the seeds; return the table and EGP's ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks regression")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per tool and data set (default 10)")
    parser.add_argument("--budget", type=float, default=60.0, help="wall seconds per fit (default 60)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--tools", nargs="+", default=list(RUNNERS), choices=list(RUNNERS))
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.budget <= 0:
        parser.error("--seeds must be at least 1 and --budget positive")
    available = [t for t in args.tools if importlib.util.find_spec(PACKAGES[t]) is not None]
    missing = sorted(set(args.tools) - set(available))
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for dataset in args.datasets:
        X, y, X_test, y_test = load(dataset)
        figures[dataset] = {}
        for tool in available:
            runs = [RUNNERS[tool](X, y, X_test, y_test, seed, args.budget) for seed in range(args.seeds)]
            summary = summarise(runs)
            figures[dataset][tool] = summary
            rows.append({"dataset": dataset, "tool": tool, **{k: v for k, v in summary.items()}})
    return {
        "benchmark": "regression",
        "seeds": args.seeds,
        "budget_seconds": args.budget,
        "unavailable": missing,
        "table": rows,
        "egp_vs_peers": _ratios(figures),
        "seconds": time.perf_counter() - started,
    }


def _ratios(figures: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per data set: EGP's median test R² minus each peer's, and its evaluations/s over each peer's."""
    rows = []
    for dataset, tools in figures.items():
        egp = tools.get("egp")
        if egp is None:
            continue
        row: dict[str, Any] = {"dataset": dataset}
        for peer, summary in tools.items():
            if peer == "egp":
                continue
            row[f"r2_minus_{peer}"] = egp["test_r2_median"] - summary["test_r2_median"]
            rate = summary["evals_per_s_median"]
            row[f"evals_ratio_{peer}"] = egp["evals_per_s_median"] / rate if rate else None
        rows.append(row)
    return rows
