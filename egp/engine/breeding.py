"""Breeding: parents picked by survivability, each mutated by a pGC the master selector chose.

Nothing is scored or credited here, so the offspring can be scored anywhere (in this process or by the
fitness executors) before the engine integrates them. Everything breeding reads is fixed before the first
offspring: the parents, the donors, the layer-0 pGC categories and a breeding RNG drawn from the island's.
So the offspring are the same however their breeding interleaves with integrating them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egp.engine.pgc_pool import PgcCategories
from egp.genetic_code.gc import GeneticCode
from egp.physics.context import CURRENT, Stillborn

if TYPE_CHECKING:
    from egp.engine.engine import Engine
    from egp.engine.population import Island


@dataclass(frozen=True)
class Offspring:
    """One breeding: the parent's signature, the pGC that mutated it and the child (None if stillborn)."""

    parent: bytes
    pgc: GeneticCode
    child: GeneticCode | None


def donor_index_of(donors: Sequence[GeneticCode]) -> dict[bytes, int] | None:
    """Where each donor's signature sits in `donors` (crossover skips the target by index); None if one
    repeats."""
    index = {gc.signature: k for k, gc in enumerate(donors)}
    return index if len(index) == len(donors) else None


def breed(engine: Engine, island: Island, rng: random.Random) -> Iterator[Offspring]:
    """One generation's offspring of `island`, bred one by one as they are asked for."""
    config = engine.config
    members = island.members
    survivability = engine.survivability
    top = max(survivability[s] for s in members) or 1.0
    weights = [max(survivability[s] / top, 1e-9) ** config.selection_pressure for s in members]
    donors = [engine.lookup(s) for s in members]
    donor_index = donor_index_of(donors)
    breeding_rng = random.Random(rng.getrandbits(64))
    parents = breeding_rng.choices(members, weights, k=config.population)
    categories = engine.pgcs.categories(0)
    return _mutate_each(engine, parents, donors, donor_index, categories, breeding_rng)


def _mutate_each(
    engine: Engine,
    parents: list[bytes],
    donors: list[GeneticCode],
    donor_index: dict[bytes, int] | None,
    categories: PgcCategories,
    rng: random.Random,
) -> Iterator[Offspring]:
    """Each parent mutated by a layer-0 pGC chosen from `categories`, timed as breeding."""
    timing = engine.timing
    clock = time.perf_counter
    for parent_sig in parents:
        started = clock()
        parent = engine.lookup(parent_sig)
        pgc = engine.select_pgc(parent, 0, rng, categories)
        child, _ = run_pgc(engine, pgc, parent, rng, donors, donor_index)
        timing["breed"] += clock() - started
        yield Offspring(parent_sig, pgc, child)


def unscored(engine: Engine, bred: Sequence[Offspring]) -> list[GeneticCode]:
    """The distinct offspring in `bred` that have no score on the problem yet (in breeding order)."""
    new: dict[bytes, GeneticCode] = {}
    scores = engine.scores
    for offspring in bred:
        child = offspring.child
        if child is not None and child.signature not in scores:
            new.setdefault(child.signature, child)
    return list(new.values())


def run_pgc(
    engine: Engine,
    pgc: GeneticCode,
    target: GeneticCode,
    rng: random.Random,
    donors: Sequence[GeneticCode],
    donor_index: dict[bytes, int] | None,
    max_codons: int | None = None,
) -> tuple[GeneticCode | None, list[GeneticCode]]:
    """Execute `pgc` on `target`: the stabilised offspring (None if stillborn) and the new GCs made.

    `donor_index` is `donor_index_of(donors)`, made once by the caller: breeding resumes on its
    generation's donors after every pGC evolved (on the pGC pool) in between.
    """
    ctx = engine.physics
    ctx.rng = rng
    ctx.pgc = pgc.signature
    if donors is not engine.current_donors:
        # A new donor list: crossover finds the target in it by index.
        engine.current_donors = donors
        ctx.donors = lambda _t: donors
        ctx.donor_index = donor_index
    ctx.max_codons = max_codons if max_codons is not None else engine.max_codons
    ctx.new_gcs = []
    token = CURRENT.set(ctx)
    try:
        # Numpy warnings are already silenced for the whole generation (see Engine.generation_scope).
        result = engine.executor._evaluate(pgc, [target])[0]
    except (Stillborn, RecursionError):
        return None, ctx.new_gcs
    finally:
        CURRENT.reset(token)
    if not isinstance(result, GeneticCode):
        return None, ctx.new_gcs
    if result.inputs != target.inputs or result.outputs != target.outputs:
        return None, ctx.new_gcs
    return result, ctx.new_gcs
