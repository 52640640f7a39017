"""Islands and how their members change besides breeding: stagnation reseeds and migration.

An island starts from its initial generation sources (egp.engine.sources). After `stagnation` generations
without a better best, its weakest share is replaced by new spontaneous GCs; at an epoch boundary it takes
the best few members of its neighbour's previous epoch in place of its weakest. Every random draw comes from
`epoch_rng(seed, island, epoch)`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from egp.engine.config import EvolutionError
from egp.engine.gene_pool import EpochRecord
from egp.engine.lineage import problem_delta
from egp.errors import EGPError
from egp.genetic_code.assembly import Assembler
from egp.genetic_code.gc import GeneticCode

if TYPE_CHECKING:
    from egp.engine.engine import Engine


@dataclass
class Island:
    """One island's population: member signatures, the open epoch record and its stagnation count."""

    index: int
    members: list[bytes] = field(default_factory=list)
    record: EpochRecord | None = None
    best: float = -1.0
    stale: int = 0
    # The island's generations and evaluations over the run so far (a job's budget is shared per island).
    generation: int = 0
    evaluations: int = 0


def epoch_rng(seed: int, island: int, epoch: int) -> random.Random:
    """The RNG of one island epoch, derived from (seed, island, epoch) so a re-run repeats it exactly."""
    digest = hashlib.sha256(f"egp:{seed}:{island}:{epoch}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


ASSEMBLER_LIMIT = 500_000  # parts an engine's assembler remembers before it starts afresh


def distinct_spontaneous(engine: Engine, rng: random.Random, taken: Sequence[bytes]) -> list[bytes]:
    """Signatures of new spontaneous GCs, distinct from each other and from `taken`, enough to fill a
    population after `taken` (fewer if 20 attempts per member do not find them)."""
    config = engine.config
    assembler = engine.assembler
    if assembler is None or len(assembler) > ASSEMBLER_LIMIT:
        # One assembler for the run: a reseed meets many of the parts the initial population was built of
        # (the store keeps them anyway), and its graph cache is filled already.
        assembler = engine.assembler = Assembler(engine.store, engine.inputs, config.creator)
    assembler.created = engine.physics.created
    seen = set(taken)
    found: list[bytes] = []
    wanted = config.population - len(taken)
    attempts = 0
    while len(found) < wanted and attempts < config.population * 20:
        attempts += 1
        gc = spontaneous(engine, rng, assembler)
        if gc is not None and gc.signature not in seen:
            seen.add(gc.signature)
            found.append(gc.signature)
    return found


def spontaneous(engine: Engine, rng: random.Random, assembler: Assembler) -> GeneticCode | None:
    """A GC with the problem's interface assembled from its codons (None if the draw cannot be built)."""
    if len(engine.outputs) != 1:
        raise EvolutionError("spontaneous assembly supports single-output problems")
    size = rng.randint(2, max(2, engine.initial_max_codons))
    try:
        filler = engine.literals[0] if engine.literals else None
        gc = assembler.random_gc(engine.expressions, rng, engine.outputs[0], size, filler)
    except (ValueError, EGPError):
        return None
    # An expression node may be a learned function (a block of many codons): a GC over the codon limit
    # could never be mutated, so it is not drawn. Codon-only expressions never exceed it.
    return gc if gc.num_codons <= engine.max_codons else None


def within_budget(engine: Engine, signatures: Iterable[bytes]) -> list[bytes]:
    """`signatures` cut to the GCs the evaluation budget can still score (in order; scored ones are free).

    The budget is a hard limit: a reseed (or an initial population) larger than what is left of it takes
    in only what it can still score, so no run is charged, or solves, beyond `max_evaluations`.
    """
    limit = engine.config.max_evaluations
    if limit is None:
        return list(signatures)
    room = limit - engine.evaluations
    kept: list[bytes] = []
    for signature in signatures:
        if signature not in engine.scores:
            if room <= 0:
                continue
            room -= 1
        kept.append(signature)
    return kept


def check_stagnation(engine: Engine, island: Island, rng: random.Random) -> None:
    """After `stagnation` generations without a better best, replace the weakest `reseed` share of the
    island with spontaneous GCs (with reseed = 1, all of it: a restart).

    An island that has converged on one local optimum can only re-explore with new material: the
    SPONTANEOUS source that seeded it supplies it again (the retired GCs stay in the Gene Pool).
    """
    best = max(engine.fitness(s) for s in island.members)
    if best > island.best:
        island.best, island.stale = best, 0
        return
    island.stale += 1
    if island.stale < engine.config.stagnation or engine.reseed <= 0:
        return
    island.stale = 0
    # With reseed = 1 nothing is kept: the island starts again from new material (the run's best GC and
    # score stay known, and the pGCs keep what they learnt).
    keep = island.members[: len(island.members) - round(engine.reseed * len(island.members))]
    fresh = {s: engine.lookup(s) for s in within_budget(engine, distinct_spontaneous(engine, rng, keep))}
    # One batch: in remote-fitness mode the executor pool scores them in one fan-out.
    engine.evaluator.prefetch([gc for s, gc in fresh.items() if s not in engine.scores])
    for signature, gc in fresh.items():
        engine.score(gc)
        new = signature not in engine.persisted and signature not in engine.joined
        if island.record is not None and new:
            engine.joined[signature] = island.index
            stats = problem_delta(island.record, signature)
            stats.fitness_total += engine.fitness(signature)
            stats.fitness_count += 1
    if keep or fresh:
        island.members = [*keep, *fresh]


def take_migrants(engine: Engine, island: Island, emigrants: Sequence[bytes]) -> None:
    """Put the `emigrants` of the neighbouring island (its best few) in place of the island's weakest
    members, then re-rank the island."""
    arrivals = [s for s in emigrants if s not in dict.fromkeys(island.members)]
    if arrivals:
        island.members = island.members[: len(island.members) - len(arrivals)] + arrivals
        engine.select_survivors(island, [])
