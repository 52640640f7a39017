"""DEAP (deap.gp) peers for EGP's benchmarks: code generation/evaluation speed and search on classic problems.

Fully independent of EGP: the fitness cases are rebuilt here with the same definitions as `egp.problems`.

* `deap_codegen`: random trees of add, sub, mul, protectedDiv over one float argument `x` (terminals: `x`
  only, no constants); each is compiled with `gp.compile` and run on the 20 Koza points.
* `deap_search`: DEAP's own example settings (examples/gp/symbreg.py, parity.py, multiplexer.py) with the
  function sets of EGP's problems, a generational loop identical to `algorithms.eaSimple` (select, `varAnd`,
  evaluate only invalid-fitness individuals), stopped as soon as an individual solves the problem or the
  evaluation budget is spent.
"""

from __future__ import annotations

import argparse
import math
import operator
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from deap import algorithms, base, gp, tools

#: The 20 Koza points, exactly DEAP's symbreg `[x/10. for x in range(-10, 10)]`.
KOZA_POINTS: tuple[float, ...] = tuple(x / 10.0 for x in range(-10, 10))
#: A Koza point is a hit when the absolute error is at most this.
HIT_TOLERANCE = 0.01
#: Koza's (and DEAP symbreg's) tree height limit, applied to crossover and mutation for every problem.
HEIGHT_LIMIT = 17

#: Primitive names of the code-generation trees (prefix notation; `x` is the only terminal).
CODEGEN_PRIMITIVES: tuple[str, ...] = ("add", "sub", "mul", "pdiv")
CODEGEN_TERMINAL = "x"


def protected_div(left: float, right: float) -> float:
    """Return left / right, or 1 when right is zero (DEAP's protectedDiv)."""
    try:
        return left / right
    except ZeroDivisionError:
        return 1.0


def nand(a: bool, b: bool) -> bool:
    """Return not (a and b)."""
    return not (a and b)


def nor(a: bool, b: bool) -> bool:
    """Return not (a or b)."""
    return not (a or b)


def and_(a: bool, b: bool) -> bool:
    """Return a and b (as a bool)."""
    return a and b


def or_(a: bool, b: bool) -> bool:
    """Return a or b (as a bool)."""
    return a or b


def if_then_else(condition: bool, out1: bool, out2: bool) -> bool:
    """Return out1 if condition else out2 (DEAP's multiplexer `if_then_else`)."""
    return out1 if condition else out2


def _rand101() -> int:
    """Return a random integer in {-1, 0, 1} (DEAP symbreg's ephemeral constant)."""
    return random.randint(-1, 1)


class FitnessMax(base.Fitness):  # type: ignore[misc]
    """A single maximised objective."""

    weights = (1.0,)


class FitnessMin(base.Fitness):  # type: ignore[misc]
    """A single minimised objective."""

    weights = (-1.0,)


class MaxTree(gp.PrimitiveTree):  # type: ignore[misc]
    """A GP tree with a maximised fitness."""

    def __init__(self, content: Any) -> None:
        """Build the tree and an empty fitness."""
        super().__init__(content)
        self.fitness = FitnessMax()


class MinTree(gp.PrimitiveTree):  # type: ignore[misc]
    """A GP tree with a minimised fitness."""

    def __init__(self, content: Any) -> None:
        """Build the tree and an empty fitness."""
        super().__init__(content)
        self.fitness = FitnessMin()


# --- code generation -------------------------------------------------------------------------------------


def codegen_pset() -> gp.PrimitiveSet:
    """Return the code-generation primitive set: add, sub, mul, pdiv over one float argument `x`."""
    pset = gp.PrimitiveSet("CODEGEN", 1)
    pset.addPrimitive(operator.add, 2, name="add")
    pset.addPrimitive(operator.sub, 2, name="sub")
    pset.addPrimitive(operator.mul, 2, name="mul")
    pset.addPrimitive(protected_div, 2, name="pdiv")
    pset.renameArguments(ARG0=CODEGEN_TERMINAL)
    return pset


def random_trees(n: int, min_codons: int, max_codons: int, seed: int) -> list[list[str]]:
    """Return n random trees in prefix notation, each with a uniform number of primitives in [min, max].

    Trees use the binary primitives add, sub, mul, pdiv and the terminal x; a tree with k primitives has
    k + 1 terminals. Deterministic for a seed (its own `random.Random`), so EGP can build the same programs.
    """
    if not 1 <= min_codons <= max_codons:
        raise ValueError("need 1 <= min_codons <= max_codons")
    rng = random.Random(seed)
    trees: list[list[str]] = []
    for _ in range(n):
        size = rng.randint(min_codons, max_codons)
        # Each node is [name, child, child]; open slots are (node, index) pairs still to fill.
        root: list[Any] = [rng.choice(CODEGEN_PRIMITIVES), None, None]
        slots: list[tuple[list[Any], int]] = [(root, 1), (root, 2)]
        for _ in range(size - 1):
            index = rng.randrange(len(slots))
            slots[index], slots[-1] = slots[-1], slots[index]
            parent, position = slots.pop()
            node: list[Any] = [rng.choice(CODEGEN_PRIMITIVES), None, None]
            parent[position] = node
            slots.extend([(node, 1), (node, 2)])
        prefix: list[str] = []
        stack: list[Any] = [root]
        while stack:
            item = stack.pop()
            if item is None:
                prefix.append(CODEGEN_TERMINAL)
            else:
                prefix.append(item[0])
                stack.extend((item[2], item[1]))
        trees.append(prefix)
    return trees


def random_tree_sizes(n: int, min_codons: int, max_codons: int, seed: int) -> list[int]:
    """Return the number of primitives (codons) of each tree `random_trees` makes for these arguments."""
    return [
        sum(1 for name in tree if name != CODEGEN_TERMINAL)
        for tree in random_trees(n, min_codons, max_codons, seed)
    ]


def prefix_to_tree(prefix: Sequence[str], pset: gp.PrimitiveSet) -> gp.PrimitiveTree:
    """Return the DEAP tree for a prefix-notation list of primitive and terminal names."""
    nodes: list[Any] = []
    for name in prefix:
        if name in pset.mapping:
            nodes.append(pset.mapping[name])
        else:
            raise ValueError(f"unknown primitive or terminal {name!r}")
    return gp.PrimitiveTree(nodes)


def deap_codegen(
    n_trees: int, min_codons: int, max_codons: int, seed: int, repetitions: int = 3
) -> dict[str, Any]:
    """Time `gp.compile` + evaluation on the 20 Koza points for n random trees; median over repetitions.

    One evaluation = one tree compiled and run on all 20 points (compile included).
    """
    pset = codegen_pset()
    trees = [prefix_to_tree(prefix, pset) for prefix in random_trees(n_trees, min_codons, max_codons, seed)]
    points = KOZA_POINTS
    total_times: list[float] = []
    compile_times: list[float] = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for tree in trees:
            func = gp.compile(tree, pset)
            for x in points:
                func(x)
        total_times.append(time.perf_counter() - start)
        # Compile alone, to split the cost.
        start = time.perf_counter()
        for tree in trees:
            gp.compile(tree, pset)
        compile_times.append(time.perf_counter() - start)
    median = statistics.median(total_times)
    compile_median = statistics.median(compile_times)
    sizes = [sum(1 for node in tree if isinstance(node, gp.Primitive)) for tree in trees]
    return {
        "benchmark": "deap_codegen",
        "n_trees": n_trees,
        "min_codons": min_codons,
        "max_codons": max_codons,
        "seed": seed,
        "function_set": list(CODEGEN_PRIMITIVES),
        "terminals": "x only (no constants)",
        "points": len(points),
        "mean_codons": statistics.fmean(sizes),
        "repetitions": repetitions,
        "seconds_per_repetition": total_times,
        "total_seconds": sum(total_times),
        "seconds": median,
        "evals_per_s": n_trees / median if median > 0 else math.inf,
        "compile_seconds": compile_median,
        "compile_share": compile_median / median if median > 0 else 0.0,
    }


# --- search ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSetup:
    """Everything `deap_search` needs for one problem."""

    toolbox: base.Toolbox
    evaluate: Callable[[Any], tuple[float, bool]]
    population: int
    cxpb: float
    mutpb: float
    settings: dict[str, Any]


def _koza_setup(constants: bool, degree: int = 4) -> SearchSetup:
    """DEAP symbreg settings with the koza-quartic function set (ephemeral constants optional, off), on
    x + x² + … + x^degree (4: koza-quartic; others: polynomial-N)."""
    pset = gp.PrimitiveSet("KOZA", 1)
    pset.addPrimitive(operator.add, 2, name="add")
    pset.addPrimitive(operator.sub, 2, name="sub")
    pset.addPrimitive(operator.mul, 2, name="mul")
    pset.addPrimitive(protected_div, 2, name="pdiv")
    # The same function set as EGP's koza-quartic problem (Koza's +, -, *, protected /).
    if constants:
        pset.addEphemeralConstant("egp_bench_rand101", _rand101)
    pset.renameArguments(ARG0="x")
    targets = tuple(math.fsum(x**k for k in range(1, degree + 1)) for x in KOZA_POINTS)

    def evaluate(individual: Any) -> tuple[float, bool]:
        func = gp.compile(individual, pset)
        try:
            errors = [func(x) - t for x, t in zip(KOZA_POINTS, targets, strict=True)]
            mse = math.fsum(e * e for e in errors) / len(errors)
        except (ArithmeticError, ValueError):
            return math.inf, False
        if not math.isfinite(mse):
            return math.inf, False
        return mse, all(abs(e) <= HIT_TOLERANCE for e in errors)

    toolbox = base.Toolbox()
    toolbox.register("expr", gp.genHalfAndHalf, pset=pset, min_=1, max_=2)
    toolbox.register("individual", tools.initIterate, MinTree, toolbox.expr)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("select", tools.selTournament, tournsize=3)
    toolbox.register("mate", gp.cxOnePoint)
    toolbox.register("expr_mut", gp.genFull, min_=0, max_=2)
    toolbox.register("mutate", gp.mutUniform, expr=toolbox.expr_mut, pset=pset)
    _limit_height(toolbox)
    settings = {
        "source": "DEAP examples/gp/symbreg.py",
        "function_set": ["add", "sub", "mul", "pdiv"] + (["erc randint(-1, 1)"] if constants else []),
        "terminals": ["x"] + (["ephemeral randint(-1, 1)"] if constants else []),
        "fitness": "minimise MSE on 20 points (DEAP's); solved = all 20 errors <= 0.01",
        "init": "genHalfAndHalf(1, 2)",
        "mutation": "mutUniform(genFull(0, 2))",
        "crossover": "cxOnePoint",
        "selection": "selTournament(3)",
        "height_limit": HEIGHT_LIMIT,
    }
    return SearchSetup(toolbox, evaluate, 300, 0.5, 0.1, settings)


def _truth_table(width: int) -> list[tuple[bool, ...]]:
    """Return the 2**width rows of a truth table; element 0 is the most significant bit."""
    return [tuple(bool((row >> (width - 1 - bit)) & 1) for bit in range(width)) for row in range(2**width)]


def boolean_cases(problem: str) -> tuple[list[tuple[bool, ...]], list[bool]]:
    """Return the truth-table rows and target outputs of even-parity-N or multiplexer-6."""
    if problem.startswith("even-parity-"):
        rows = _truth_table(int(problem.rsplit("-", 1)[1]))
        return rows, [sum(row) % 2 == 0 for row in rows]
    if problem.startswith("multiplexer-"):
        size = int(problem.rsplit("-", 1)[1])
        bits = {6: 2, 11: 3, 20: 4}[size]
        rows = _truth_table(size)
        # Inputs (a0 … a(k-1), d0 …); output d[a0 + 2*a1 + …] (as egp.problems' multiplexers).
        return rows, [row[bits + sum(int(row[b]) << b for b in range(bits))] for row in rows]
    raise ValueError(f"no truth table for {problem!r}")


def _boolean_evaluate(pset: gp.PrimitiveSet, rows: list[tuple[bool, ...]], targets: list[bool]) -> Any:
    """Return an evaluator: fitness = rows correct, solved = all rows correct."""
    cases = list(zip(rows, targets, strict=True))

    def evaluate(individual: Any) -> tuple[float, bool]:
        func = gp.compile(individual, pset)
        correct = sum(1 for row, target in cases if bool(func(*row)) == target)
        return float(correct), correct == len(cases)

    return evaluate


def _parity_setup(width: int) -> SearchSetup:
    """DEAP parity example settings with Koza's parity function set (and, or, nand, nor; no constants)."""
    pset = gp.PrimitiveSet("PARITY", width, "IN")
    pset.addPrimitive(and_, 2, name="and_")
    pset.addPrimitive(or_, 2, name="or_")
    pset.addPrimitive(nand, 2, name="nand")
    pset.addPrimitive(nor, 2, name="nor")
    rows, targets = boolean_cases(f"even-parity-{width}")
    toolbox = base.Toolbox()
    toolbox.register("expr", gp.genFull, pset=pset, min_=3, max_=5)
    toolbox.register("individual", tools.initIterate, MaxTree, toolbox.expr)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("select", tools.selTournament, tournsize=3)
    toolbox.register("mate", gp.cxOnePoint)
    toolbox.register("expr_mut", gp.genGrow, min_=0, max_=2)
    toolbox.register("mutate", gp.mutUniform, expr=toolbox.expr_mut, pset=pset)
    _limit_height(toolbox)
    settings = {
        "source": "DEAP examples/gp/parity.py",
        "function_set": ["and", "or", "nand", "nor"],
        "terminals": [f"IN{i}" for i in range(width)],
        "fitness": f"maximise rows correct of {len(rows)}; solved = all rows",
        "init": "genFull(3, 5)",
        "mutation": "mutUniform(genGrow(0, 2))",
        "crossover": "cxOnePoint",
        "selection": "selTournament(3)",
        "height_limit": HEIGHT_LIMIT,
    }
    return SearchSetup(toolbox, _boolean_evaluate(pset, rows, targets), 300, 0.5, 0.2, settings)


def _multiplexer_setup(size: int = 6) -> SearchSetup:
    """DEAP multiplexer example settings for the `size`-multiplexer (and, or, not, if; no constants)."""
    pset = gp.PrimitiveSet(f"MUX{size}", size, "IN")
    pset.addPrimitive(and_, 2, name="and_")
    pset.addPrimitive(or_, 2, name="or_")
    pset.addPrimitive(operator.not_, 1, name="not_")
    pset.addPrimitive(if_then_else, 3, name="if_then_else")
    rows, targets = boolean_cases(f"multiplexer-{size}")
    toolbox = base.Toolbox()
    toolbox.register("expr", gp.genFull, pset=pset, min_=2, max_=4)
    toolbox.register("individual", tools.initIterate, MaxTree, toolbox.expr)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("select", tools.selTournament, tournsize=7)
    toolbox.register("mate", gp.cxOnePoint)
    toolbox.register("expr_mut", gp.genGrow, min_=0, max_=2)
    toolbox.register("mutate", gp.mutUniform, expr=toolbox.expr_mut, pset=pset)
    _limit_height(toolbox)
    settings = {
        "source": f"DEAP examples/gp/multiplexer.py (11-mux there; {size}-mux here)",
        "function_set": ["and", "or", "not", "if_then_else"],
        "terminals": [f"IN{i}" for i in range(size)],
        "fitness": f"maximise rows correct of {len(rows)}; solved = all rows",
        "init": "genFull(2, 4)",
        "mutation": "mutUniform(genGrow(0, 2))",
        "crossover": "cxOnePoint",
        "selection": "selTournament(7)",
        "height_limit": HEIGHT_LIMIT,
    }
    return SearchSetup(toolbox, _boolean_evaluate(pset, rows, targets), 40, 0.8, 0.1, settings)


def _limit_height(toolbox: base.Toolbox) -> None:
    """Decorate mate and mutate with DEAP's static height limit."""
    limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=HEIGHT_LIMIT)
    toolbox.decorate("mate", limit)
    toolbox.decorate("mutate", limit)


SEARCH_PROBLEMS: dict[str, Callable[..., SearchSetup]] = {
    "koza-quartic": _koza_setup,
    "even-parity-3": lambda constants=False: _parity_setup(3),
    "multiplexer-6": lambda constants=False: _multiplexer_setup(),
}


def search_settings(problem: str, *, constants: bool = False) -> dict[str, Any]:
    """Return the DEAP settings used for a problem (population, rates, operators, function set)."""
    setup = _setup(problem, constants)
    return {"population": setup.population, "cxpb": setup.cxpb, "mutpb": setup.mutpb, **setup.settings}


def _setup(problem: str, constants: bool) -> SearchSetup:
    """Return the setup for a problem name (the search problems and the even-parity, multiplexer and
    polynomial families), or raise ValueError naming the known ones."""
    factory = SEARCH_PROBLEMS.get(problem)
    if factory is not None:
        return factory(constants=constants)
    family, _, parameter = problem.rpartition("-")
    if parameter.isdigit():
        if family == "even-parity":
            return _parity_setup(int(parameter))
        if family == "multiplexer" and int(parameter) in (6, 11, 20):
            return _multiplexer_setup(int(parameter))
        if family == "polynomial":
            return _koza_setup(constants, int(parameter))
    raise ValueError(
        f"unknown problem {problem!r}; known: {', '.join(SEARCH_PROBLEMS)}, even-parity-N, multiplexer-K, "
        "polynomial-N"
    )


def deap_search(problem: str, seed: int, max_evaluations: int, *, constants: bool = False) -> dict[str, Any]:
    """Run DEAP's eaSimple loop on a problem until solved or max_evaluations are spent; return the figures.

    Evaluations are counted as eaSimple does (only invalid-fitness individuals are evaluated), one by one,
    so `evaluations_to_solution` is the count at the first individual that solves the problem.
    """
    setup = _setup(problem, constants)
    toolbox = setup.toolbox
    random.seed(seed)
    start = time.perf_counter()
    evaluations = 0
    solution_at: int | None = None

    def evaluate(individuals: list[Any]) -> None:
        nonlocal evaluations, solution_at
        for individual in individuals:
            if evaluations >= max_evaluations or solution_at is not None:
                return
            fitness, solved = setup.evaluate(individual)
            individual.fitness.values = (fitness,)
            evaluations += 1
            if solved:
                solution_at = evaluations

    population = toolbox.population(n=setup.population)
    evaluate([ind for ind in population if not ind.fitness.valid])
    generations = 0
    while solution_at is None and evaluations < max_evaluations:
        offspring = toolbox.select(population, len(population))
        offspring = algorithms.varAnd(offspring, toolbox, setup.cxpb, setup.mutpb)
        evaluate([ind for ind in offspring if not ind.fitness.valid])
        generations += 1
        population[:] = offspring
    seconds = time.perf_counter() - start
    return {
        "problem": problem,
        "seed": seed,
        "solved": solution_at is not None,
        "evaluations": evaluations,
        "evaluations_to_solution": solution_at,
        "generations": generations,
        "seconds": seconds,
        "evals_per_s": evaluations / seconds if seconds > 0 else math.inf,
        "max_evaluations": max_evaluations,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return success rate, median evaluations to solution and throughput over runs of one problem."""
    solved = [r["evaluations_to_solution"] for r in runs if r["solved"]]
    evaluations = sum(r["evaluations"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    return {
        "problem": runs[0]["problem"],
        "seeds": len(runs),
        "max_evaluations": runs[0]["max_evaluations"],
        "success_rate": len(solved) / len(runs),
        "median_evals_to_solution": statistics.median(solved) if solved else None,
        "evals_per_s": evaluations / seconds if seconds > 0 else math.inf,
        "median_evals_per_s": statistics.median(r["evals_per_s"] for r in runs),
        "wall_seconds": seconds,
    }


DEFAULT_BUDGETS: dict[str, int] = {"koza-quartic": 20_000, "even-parity-3": 20_000, "multiplexer-6": 50_000}


def main(argv: list[str]) -> dict[str, Any]:
    """Run the DEAP codegen and/or search baselines (`python -m benchmarks deap_baselines --help`)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks deap_baselines")
    parser.add_argument("--mode", choices=("codegen", "search", "all"), default="all")
    parser.add_argument("--n-trees", type=int, default=10_000)
    parser.add_argument("--min-codons", type=int, default=5)
    parser.add_argument("--max-codons", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1, help="codegen seed; search seeds are 0..seeds-1")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="*", default=list(DEFAULT_BUDGETS))
    parser.add_argument("--budget", type=int, default=None, help="override every problem's evaluation budget")
    parser.add_argument("--constants", action="store_true", help="add symbreg's randint(-1, 1) ERC to koza")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {}
    if args.mode in ("codegen", "all"):
        result["codegen"] = deap_codegen(args.n_trees, args.min_codons, args.max_codons, args.seed)
    if args.mode in ("search", "all"):
        summaries = []
        runs_all = []
        for problem in args.problems:
            budget = args.budget or DEFAULT_BUDGETS.get(problem, 20_000)
            runs = [
                deap_search(problem, seed, budget, constants=args.constants) for seed in range(args.seeds)
            ]
            runs_all.extend(runs)
            summaries.append(summarise(runs))
        result["search"] = summaries
        result["runs"] = runs_all
        result["settings"] = {p: search_settings(p, constants=args.constants) for p in args.problems}
    return result
