"""The block library of a run: GCs from the Gene Pool that insertion may build into a program, weighted by
how useful they proved.

Candidates are the best programs of this problem and of the related ones (egp.engine.relations) and every
sub-GC of theirs: content addressing makes a sub-GC reused by several good programs one signature, so its
weight — the summed fitness of the programs it appears in — says how often it was part of success. Parity-3's
XOR-like sub-programs are thus found by parity-6, and carried in by the building-block pGCs
(egp.physics.blocks) and, on equal types, by the RELATED source of an initial population.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING

from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.types import is_compatible

if TYPE_CHECKING:
    from egp.engine.engine import Engine

PROGRAMS_PER_PROBLEM = 20  # best programs of each problem whose sub-GCs become candidates
MAX_BLOCKS = 256  # the heaviest blocks kept
MIN_CODONS = 2  # a one-codon block is a codon: the codon mutations insert those already


class BlockLibrary:
    """Building blocks and their weights; `draw` picks one that fits a place, in proportion to its weight."""

    def __init__(self, blocks: list[tuple[GeneticCode, float]]) -> None:
        """A library of (block, weight) pairs (weights > 0), in a fixed order."""
        self.blocks = blocks

    def __len__(self) -> int:
        """How many blocks there are."""
        return len(self.blocks)

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
    related problems, weighted by the summed fitness of the programs they appear in."""
    pool = engine.pool
    problems = [engine.problem_id, *(r.identity for r in engine.related)]
    weights: dict[bytes, float] = {}
    for problem in problems:
        programs = pool.best(problem, PROGRAMS_PER_PROBLEM)
        fitness = pool.problem_stats(problem, [g.signature for g in programs])
        for program in programs:
            stats = fitness.get(program.signature)
            if stats is None or stats.fitness <= 0.0 or not engine.load_closure([program.signature]):
                continue
            for signature in _sub_gcs(engine, program):
                weights[signature] = weights.get(signature, 0.0) + stats.fitness
    usable = set(engine.inputs) | set(engine.outputs)
    blocks = []
    for signature, weight in weights.items():
        gc = engine.lookup(signature)
        if gc.is_pgc or not MIN_CODONS <= gc.num_codons <= engine.max_codons // 2:
            continue
        if not all(any(is_compatible(t, u) for u in usable) for t in (*gc.inputs, *gc.outputs)):
            continue
        blocks.append((gc, weight))
    blocks.sort(key=lambda item: (-item[1], item[0].signature))
    return BlockLibrary(blocks[:MAX_BLOCKS])


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
