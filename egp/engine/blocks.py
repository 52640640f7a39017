"""The block library of a run: GCs from the Gene Pool that insertion may build into a program, weighted by
how useful they proved.

Candidates are the best programs of this problem and of the related ones (egp.engine.relations) and every
sub-GC of theirs. A block's weight is the largest share of a good program's material it is: the program's
fitness times the block's share of its codons times the problem's nearness 1/(1 + closeness), so the whole
solution of the nearest related problem weighs most. (Summed
over programs, as first built, the weight ranked a 6-codon function reused by most of parity-3's best
programs far above parity-3's solution, which came 76th of 256.)

Blocks are judged by what they compute, not only by signature: each is run on fixed probe inputs, and a
block whose first output is a constant or just one of its inputs is dropped (any codon mutation makes those;
measured after an even-parity-3 run, 72 of the 256 heaviest blocks were such and only 61 distinct functions
were left among them), and blocks computing the same thing share one entry (the smallest GC, the summed
weight). The heaviest blocks also join the run's function set (`learned_functions`): spontaneous assembly
(initial population, reseeds) builds expressions from them as from codons, like automatically defined
functions — parity-3's solution becomes a 3-input function parity-4's programs can call. Insertion carries
them in too (the building-block pGCs, egp.physics.blocks).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import TYPES, is_compatible

if TYPE_CHECKING:
    from egp.engine.engine import Engine

PROGRAMS_PER_PROBLEM = 20  # best programs of each problem whose sub-GCs become candidates
MAX_BLOCKS = 256  # the heaviest blocks kept
MIN_CODONS = 2  # a one-codon block is a codon: the codon mutations insert those already
PROBES = 32  # probe input rows a block is run on to tell what it computes
PROBE_SEED = 0x5EED  # probe rows are the same in every run, so the library is deterministic


class BlockLibrary:
    """Building blocks and their weights; `draw` picks one that fits a place, in proportion to its weight."""

    def __init__(self, blocks: list[tuple[GeneticCode, float]]) -> None:
        """A library of (block, weight) pairs (weights > 0), in a fixed order."""
        self.blocks = blocks

    def __len__(self) -> int:
        """How many blocks there are."""
        return len(self.blocks)

    def learned_functions(self, count: int) -> list[GeneticCode]:
        """The `count` heaviest blocks with inputs: the functions this run learnt from earlier ones."""
        return [block for block, _ in self.blocks if block.inputs][:count]

    def draw(self, rng: random.Random, output: int, available: tuple[int, ...]) -> GeneticCode | None:
        """A block whose first output can feed `output` and whose every input can be fed from one of the
        `available` types, drawn by weight; None if none fits."""
        fitting = [
            (block, weight)
            for block, weight in self.blocks
            if block.outputs
            and is_compatible(block.outputs[0], output)
            and all(any(is_compatible(t, dtype) for t in available) for dtype in block.inputs)
        ]
        if not fitting:
            return None
        cumulative = list(accumulate(weight for _, weight in fitting))
        index = bisect_right(cumulative, rng.random() * cumulative[-1], 0, len(fitting) - 1)
        return fitting[index][0]


def load_blocks(engine: Engine) -> BlockLibrary:
    """The run's block library from its Gene Pool: sub-GCs of the best programs of this problem and of the
    related problems, weighted by the largest fitness × share of codons of a program they appear in; trivial
    ones dropped, one per behaviour."""
    pool = engine.pool
    # A nearer problem's programs weigh more: 1/(1 + closeness), this problem's own 1.
    problems = [(engine.problem_id, 1.0), *((r.identity, 1.0 / (1.0 + r.closeness)) for r in engine.related)]
    weights: dict[bytes, float] = {}
    for problem, nearness in problems:
        programs = pool.best(problem, PROGRAMS_PER_PROBLEM)
        fitness = pool.problem_stats(problem, [g.signature for g in programs])
        for program in programs:
            stats = fitness.get(program.signature)
            if stats is None or stats.fitness <= 0.0 or not engine.load_closure([program.signature]):
                continue
            for signature in _sub_gcs(engine, program):
                share = engine.lookup(signature).num_codons / max(program.num_codons, 1)
                weights[signature] = max(weights.get(signature, 0.0), nearness * stats.fitness * share)
    usable = set(engine.inputs) | set(engine.outputs)
    # One entry per behaviour: the smallest GC computing it, with the largest weight of those that do.
    by_behaviour: dict[Any, tuple[GeneticCode, float]] = {}
    for signature, weight in sorted(weights.items(), key=lambda item: (-item[1], item[0])):
        gc = engine.lookup(signature)
        # Up to a whole program's size, not half of it: learned functions compose (a parity-4 solution
        # built on parity-3's holds it whole), and a GC over the codon limit is refused where it is built.
        if gc.is_pgc or not MIN_CODONS <= gc.num_codons <= engine.max_codons:
            continue
        if not all(any(is_compatible(t, u) for u in usable) for t in (*gc.inputs, *gc.outputs)):
            continue
        behaviour = _behaviour(engine, gc)
        if behaviour is _TRIVIAL:
            continue
        key = behaviour if behaviour is not None else signature
        known = by_behaviour.get(key)
        if known is None:
            by_behaviour[key] = (gc, weight)
        else:
            smaller = (
                gc if (gc.num_codons, gc.signature) < (known[0].num_codons, known[0].signature) else known[0]
            )
            by_behaviour[key] = (smaller, max(known[1], weight))
    blocks = sorted(by_behaviour.values(), key=lambda item: (-item[1], item[0].signature))
    return BlockLibrary(blocks[:MAX_BLOCKS])


_TRIVIAL = object()  # the behaviour of a block that computes a constant or passes an input through


def _probe_value(rng: random.Random, type_name: str) -> Any:
    """A probe input of a type (None: no probe for it)."""
    if type_name == "bool":
        return rng.random() < 0.5
    if type_name == "float":
        return rng.uniform(-2.0, 2.0)
    if type_name == "int":
        return rng.randint(-8, 8)
    return None


def _behaviour(engine: Engine, gc: GeneticCode) -> Any:
    """What `gc` computes on the probe rows (its inputs' types and first outputs there), `_TRIVIAL` if its
    first output is constant or equal to one of its inputs on every row, None if it cannot be probed."""
    rng = random.Random(PROBE_SEED)
    names = [TYPES.name(t) for t in gc.inputs]
    rows = []
    for _ in range(PROBES):
        row = [_probe_value(rng, name) for name in names]
        if any(value is None for value in row):
            return None
        rows.append(row)
    try:
        outputs = tuple(engine.executor.evaluate(gc, row)[0] for row in rows)
    except Exception:  # a block that fails on a probe row is judged by signature only
        return None
    if len(set(outputs)) <= 1 or any(
        all(row[k] == out for row, out in zip(rows, outputs, strict=True)) for k in range(len(names))
    ):
        return _TRIVIAL
    return (tuple(gc.inputs), outputs)


def _sub_gcs(engine: Engine, program: GeneticCode) -> list[bytes]:
    """`program` and its distinct non-codon sub-GCs, each once, in a fixed order."""
    seen: dict[bytes, None] = {}
    stack = [program]
    while stack:
        gc = stack.pop()
        if gc.codon is not None or gc.signature in seen:
            continue
        seen[gc.signature] = None
        stack.extend(engine.lookup(s) for s in (gc.gcb, gc.gca) if s is not None)
    return list(seen)
