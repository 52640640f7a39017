"""The cost floor of a content-addressed GP loop, beside EGP and DEAP on koza-quartic, in one run.

`python -m benchmarks floor --json` answers "how fast could a content-addressed evolution loop be in pure
Python and numpy at all?", which is what the search benchmark's evaluations-per-second ratio must be read
against. The bare loop keeps only what EGP's speed argument relies on: nodes stored by SHA-256 of their
operator, children and ancestor (a Merkle tree), an offspring rebuilding the path from its changed node to
the root, each node's output on the 20 Koza points cached by signature (only new nodes are computed), and no
signature scored twice. It has none of the rest of EGP: no types or connection graphs, no embryo
stabilisation, no lineage statistics, no pGCs or meta-evolution. Its search is DEAP symbreg's (tournament of
3, one-point-style crossover half the time, else a small random subtree); its function set is EGP's and
DEAP's koza set (+, -, *, protected /) on the single input x.

Each seed runs the floor, EGP (meta-evolution on, default settings, in-memory Gene Pool) and DEAP one after
another in this process, so all three see the same machine; the figures are evaluations per second over all
seeds and their ratios to DEAP. benchmarks/README.md keeps the latest figures and the lean-core experiment
that measured, on this loop, what EGP's per-offspring duties cost.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.deap_baselines import DEFAULT_BUDGETS, HIT_TOLERANCE, KOZA_POINTS, deap_search
from benchmarks.search import egp_run, summarise

Array = npt.NDArray[np.float64]

_POINTS: Array = np.array(KOZA_POINTS)
_TARGETS: Array = _POINTS**4 + _POINTS**3 + _POINTS**2 + _POINTS


def _protected_divide(left: Array, right: Array) -> Array:
    """left / right, and 1 where right is 0 (DEAP's and EGP's protected division)."""
    zero = right == 0
    result: Array = np.where(zero, 1.0, left / np.where(zero, 1.0, right))
    return result


_OPERATORS: dict[bytes, Callable[[Array, Array], Array]] = {
    b"+": np.add,
    b"-": np.subtract,
    b"*": np.multiply,
    b"/": _protected_divide,
}
_OPERATOR_NAMES = tuple(_OPERATORS)
_INPUT = hashlib.sha256(b"x").digest()
#: The offspring size limit, as EGP's koza default (128 codons) and DEAP's height-17 limit bound trees.
MAX_NODES = 257


class ContentAddressedLoop:
    """A bare content-addressed evolution loop on koza-quartic: Merkle-tree nodes and a signature cache."""

    def __init__(self, seed: int, population: int = 300, budget: int = 20_000) -> None:
        """A loop with its own RNG, node store and output cache."""
        self.rng = random.Random(seed)
        self.population = population
        self.budget = budget
        # signature -> (operator, child A, child B, subtree size); the input x has no operator.
        self.nodes: dict[bytes, tuple[bytes | None, bytes, bytes, int]] = {_INPUT: (None, b"", b"", 1)}
        self.outputs: dict[bytes, Array] = {_INPUT: _POINTS}
        self.scores: dict[bytes, tuple[float, bool]] = {}
        self.evaluations = 0

    def node(self, operator: bytes, a: bytes, b: bytes, ancestor: bytes = b"") -> bytes:
        """The signature of operator(a, b) descended from `ancestor`, storing the node if it is new."""
        signature = hashlib.sha256(b"".join((operator, a, b, ancestor))).digest()
        if signature not in self.nodes:
            self.nodes[signature] = (operator, a, b, self.nodes[a][3] + self.nodes[b][3] + 1)
        return signature

    def random_tree(self, operators: int) -> bytes:
        """A random tree with exactly `operators` operator nodes (leaves are x)."""
        if operators == 0:
            return _INPUT
        cut = self.rng.randrange(operators)
        operator = _OPERATOR_NAMES[self.rng.randrange(len(_OPERATOR_NAMES))]
        return self.node(operator, self.random_tree(cut), self.random_tree(operators - 1 - cut))

    def output(self, signature: bytes) -> Array:
        """The node's output on the 20 points, computing only nodes not yet cached."""
        found = self.outputs.get(signature)
        if found is None:
            operator, a, b, _ = self.nodes[signature]
            assert operator is not None
            found = self.outputs[signature] = _OPERATORS[operator](self.output(a), self.output(b))
        return found

    def score(self, signature: bytes) -> tuple[float, bool]:
        """Fitness 1 / (1 + MAE) and solved (all 20 points within 0.01); a signature is scored once."""
        found = self.scores.get(signature)
        if found is None:
            self.evaluations += 1
            errors = np.abs(self.output(signature) - _TARGETS)
            mae = float(np.add.reduce(errors)) / len(errors)
            fitness = 1.0 / (1.0 + mae) if np.isfinite(mae) else 0.0
            found = self.scores[signature] = (fitness, bool(errors.max() <= HIT_TOLERANCE))
        return found

    def random_node(self, root: bytes) -> tuple[list[tuple[bytes, int]], bytes]:
        """A node drawn uniformly from the tree, and the path (parent, side) from the root down to it."""
        path: list[tuple[bytes, int]] = []
        signature = root
        while True:
            operator, a, b, size = self.nodes[signature]
            pick = self.rng.randrange(size)
            if operator is None or pick == 0:
                return path, signature
            if pick <= self.nodes[a][3]:
                path.append((signature, 0))
                signature = a
            else:
                path.append((signature, 1))
                signature = b

    def replace(self, path: list[tuple[bytes, int]], new: bytes) -> bytes:
        """The root after putting `new` at the end of `path`: every node on the path is rebuilt."""
        for parent, side in reversed(path):
            operator, a, b, _ = self.nodes[parent]
            assert operator is not None
            new = self.node(operator, new, b, parent) if side == 0 else self.node(operator, a, new, parent)
        return new

    def run(self) -> tuple[int, bool]:
        """Evolve until solved or the budget is spent; return (evaluations, solved)."""
        rng = self.rng
        members: list[tuple[float, bytes]] = []
        for _ in range(self.population):
            tree = self.random_tree(rng.randint(1, 6))
            fitness, solved = self.score(tree)
            if solved:
                return self.evaluations, True
            members.append((fitness, tree))
        while self.evaluations < self.budget:
            offspring: list[tuple[float, bytes]] = []
            for _ in range(self.population):
                parent = max(rng.sample(members, 3))[1]
                path, _ = self.random_node(parent)
                if rng.random() < 0.5:
                    _, donated = self.random_node(max(rng.sample(members, 3))[1])
                else:
                    donated = self.random_tree(rng.randint(0, 3))
                child = self.replace(path, donated)
                if self.nodes[child][3] > MAX_NODES:
                    offspring.append((0.0, child))
                    continue
                fitness, solved = self.score(child)
                if solved:
                    return self.evaluations, True
                if self.evaluations >= self.budget:
                    break
                offspring.append((fitness, child))
            members = offspring or members
        return self.evaluations, False


def floor_run(seed: int, budget: int) -> dict[str, Any]:
    """One run of the bare loop, with the figures `search.summarise` reads."""
    started = time.perf_counter()
    evaluations, solved = ContentAddressedLoop(seed, budget=budget).run()
    return {
        "solved": solved,
        "evaluations": evaluations,
        "evaluations_to_solution": evaluations if solved else None,
        "seconds": time.perf_counter() - started,
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The search benchmark's summary of the runs, with their total evaluations and cost of one."""
    summary = summarise(runs)
    rate = summary["evals_per_s"]
    return {
        **summary,
        "evaluations": sum(r["evaluations"] for r in runs),
        "microseconds_per_evaluation": 1e6 / rate if rate else 0.0,
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the floor, EGP and DEAP on koza-quartic over the seeds; return their figures and ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks floor")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGETS["koza-quartic"])
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.budget < 1:
        parser.error("--seeds and --budget must be at least 1")
    np.seterr(all="ignore")  # protected division and overflowing products are part of the search
    runs: dict[str, list[dict[str, Any]]] = {"floor": [], "egp": [], "deap": []}
    started = time.perf_counter()
    for seed in range(args.seeds):
        runs["floor"].append(floor_run(seed, args.budget))
        runs["egp"].append(egp_run("koza-quartic", seed, args.budget, True))
        runs["deap"].append(deap_search("koza-quartic", seed, args.budget))
    figures = {name: _summary(side) for name, side in runs.items()}
    deap_rate = figures["deap"]["evals_per_s"]
    return {
        "benchmark": "floor",
        "problem": "koza-quartic",
        "seeds": args.seeds,
        "budget": args.budget,
        **figures,
        "ratio_floor_vs_deap": figures["floor"]["evals_per_s"] / deap_rate if deap_rate else None,
        "ratio_egp_vs_deap": figures["egp"]["evals_per_s"] / deap_rate if deap_rate else None,
        "ratio_egp_vs_floor": figures["egp"]["evals_per_s"] / figures["floor"]["evals_per_s"],
        "seconds": time.perf_counter() - started,
    }
