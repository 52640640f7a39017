"""The regression benchmark's contenders, each fitted under one wall-clock budget in this process.

Every runner takes (X_train, y_train, X_test, y_test, seed, budget seconds) and returns the test R², the model
size, the evaluations done and the seconds spent. Sizes count tree nodes (gplearn, DEAP), model length
(pyoperon) or codons (EGP). A peer whose package is not installed is reported as unavailable.

- EGP: `EGPRegressor`, default settings, in-memory Gene Pool, `max_time` = the budget.
- gplearn: `SymbolicRegressor` with its defaults (population 1,000, + − × ÷, parsimony 0.001), one job,
  grown one generation at a time with `warm_start` until the budget is spent (it has no time limit).
- DEAP: the symbreg setup of DEAP's examples (tournament of 3, one-point crossover 0.5, uniform subtree
  mutation 0.1, height limit 17) on whole numpy columns — one compiled call per individual computes all
  rows — with the same fitness as EGP (r² after linear scaling), so only the engines differ.
- pyoperon: `SymbolicRegressor` (C++) with its defaults, one thread, `max_time` = the budget.
"""

from __future__ import annotations

import functools
import math
import operator
import random
import time
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _r2(y: Array, predicted: Array) -> float:
    """Test R² (−inf when a prediction is not finite)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    if not np.all(np.isfinite(predicted)):
        return -math.inf
    return float(1.0 - np.sum((y - predicted) ** 2) / np.sum((y - np.mean(y)) ** 2))


def run_egp(X: Array, y: Array, X_test: Array, y_test: Array, seed: int, budget: float) -> dict[str, Any]:
    """EGP's estimator with its defaults and the wall budget."""
    from egp.sklearn import EGPRegressor

    started = time.perf_counter()
    model = EGPRegressor(generations=10**9, max_time=budget, random_state=seed).fit(X, y)
    seconds = time.perf_counter() - started
    return {
        "test_r2": _r2(y_test, model.predict(X_test)),
        "size": model.fitted_.codons,
        "evaluations": model.evaluations_,
        "seconds": seconds,
    }


def run_gplearn(X: Array, y: Array, X_test: Array, y_test: Array, seed: int, budget: float) -> dict[str, Any]:
    """gplearn's SymbolicRegressor, one generation at a time until the budget is spent."""
    from gplearn.genetic import SymbolicRegressor

    started = time.perf_counter()
    model = SymbolicRegressor(generations=1, warm_start=True, random_state=seed, n_jobs=1)
    generations = 0
    while True:
        generations += 1
        model.set_params(generations=generations)
        model.fit(X, y)
        if time.perf_counter() - started >= budget:
            break
    seconds = time.perf_counter() - started
    return {
        "test_r2": _r2(y_test, model.predict(X_test)),
        "size": model._program.length_,
        "evaluations": generations * model.population_size,
        "seconds": seconds,
    }


def run_operon(X: Array, y: Array, X_test: Array, y_test: Array, seed: int, budget: float) -> dict[str, Any]:
    """pyoperon's SymbolicRegressor with one thread and the wall budget."""
    from pyoperon.sklearn import SymbolicRegressor

    started = time.perf_counter()
    model = SymbolicRegressor(
        max_time=max(1, round(budget)),
        n_threads=1,
        random_state=seed,
        generations=10**6,
        max_evaluations=10**12,
    )
    model.fit(X, y)
    seconds = time.perf_counter() - started
    return {
        "test_r2": _r2(y_test, model.predict(X_test)),
        "size": int(model.stats_["model_length"]),
        "evaluations": int(model.stats_["evaluation_count"]),
        "seconds": seconds,
    }


def _protected_divide(left: Any, right: Any) -> Any:
    """Division with 1 where the divisor is 0 (EGP's pdiv), on arrays or scalars."""
    with np.errstate(all="ignore"):
        quotient = np.true_divide(left, right)
    return np.where(np.equal(right, 0), 1.0, quotient)


def _scaled_r2(output: Any, y_centred: Array, y_ss: float) -> float:
    """r² of the best linear scaling of the output (the fitness EGP uses)."""
    output = np.asarray(output, dtype=np.float64)
    if output.ndim == 0:
        return 0.0
    centred = output - output.mean()
    ss = float(np.dot(centred, centred))
    if not math.isfinite(ss) or ss <= 1e-12:
        return 0.0
    cross = float(np.dot(centred, y_centred))
    r2 = cross * cross / (ss * y_ss)
    return min(max(r2, 0.0), 1.0) if math.isfinite(r2) else 0.0


def run_deap(X: Array, y: Array, X_test: Array, y_test: Array, seed: int, budget: float) -> dict[str, Any]:
    """DEAP's eaSimple symbreg loop on numpy columns until the budget is spent."""
    from deap import algorithms, base, creator, gp, tools

    rng = random.Random(seed)
    random.seed(seed)  # DEAP's operators draw from the random module
    pset = gp.PrimitiveSet("MAIN", X.shape[1])
    for function, arity in ((np.add, 2), (np.subtract, 2), (np.multiply, 2), (_protected_divide, 2)):
        pset.addPrimitive(function, arity)
    # A unique name per run: DEAP registers ephemeral constants globally and refuses a name twice.
    pset.addEphemeralConstant(f"rand_{seed}_{time.monotonic_ns()}", functools.partial(rng.uniform, -1.0, 1.0))
    if not hasattr(creator, "RegressionFitness"):
        creator.create("RegressionFitness", base.Fitness, weights=(1.0,))
        creator.create("RegressionTree", gp.PrimitiveTree, fitness=creator.RegressionFitness)
    toolbox = base.Toolbox()
    toolbox.register("expr", gp.genHalfAndHalf, pset=pset, min_=1, max_=2)
    toolbox.register("individual", tools.initIterate, creator.RegressionTree, toolbox.expr)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("select", tools.selTournament, tournsize=3)
    toolbox.register("mate", gp.cxOnePoint)
    toolbox.register("expr_mut", gp.genFull, min_=0, max_=2)
    toolbox.register("mutate", gp.mutUniform, expr=toolbox.expr_mut, pset=pset)
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=17)
    toolbox.decorate("mate", limit)
    toolbox.decorate("mutate", limit)
    columns = [np.ascontiguousarray(X[:, k]) for k in range(X.shape[1])]
    y_centred = y - y.mean()
    y_ss = float(np.dot(y_centred, y_centred))
    evaluations = 0

    def evaluate(individual: Any) -> tuple[float]:
        nonlocal evaluations
        evaluations += 1
        with np.errstate(all="ignore"):
            output = gp.compile(individual, pset)(*columns)
        return (_scaled_r2(output, y_centred, y_ss),)

    started = time.perf_counter()
    population = toolbox.population(n=500)
    hall = tools.HallOfFame(1)
    for individual in population:
        individual.fitness.values = evaluate(individual)
    hall.update(population)
    while time.perf_counter() - started < budget:
        offspring = algorithms.varAnd(toolbox.select(population, len(population)), toolbox, 0.5, 0.1)
        for individual in offspring:
            if not individual.fitness.valid:
                individual.fitness.values = evaluate(individual)
                if time.perf_counter() - started >= budget:
                    break
        offspring = [i for i in offspring if i.fitness.valid]
        hall.update(offspring)
        population[: len(offspring)] = offspring
    seconds = time.perf_counter() - started
    best = hall[0]
    with np.errstate(all="ignore"):
        train_out = np.broadcast_to(gp.compile(best, pset)(*columns), y.shape).astype(np.float64)
        test_cols = [np.ascontiguousarray(X_test[:, k]) for k in range(X_test.shape[1])]
        test_out = np.broadcast_to(gp.compile(best, pset)(*test_cols), y_test.shape).astype(np.float64)
    centred = train_out - train_out.mean()
    ss = float(np.dot(centred, centred))
    slope = float(np.dot(centred, y_centred)) / ss if ss > 1e-12 else 0.0
    offset = float(y.mean() - slope * train_out.mean())
    return {
        "test_r2": _r2(y_test, offset + slope * test_out),
        "size": len(best),
        "evaluations": evaluations,
        "seconds": seconds,
    }


RUNNERS = {"egp": run_egp, "gplearn": run_gplearn, "deap": run_deap, "pyoperon": run_operon}
#: The package each peer needs.
PACKAGES = {"egp": "sympy", "gplearn": "gplearn", "deap": "deap", "pyoperon": "pyoperon"}
