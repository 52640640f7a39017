"""Meta-evolution: Δ credited up the chain of pGCs that made a pGC, and pGCs mutated by the next layer.

After each offspring, Δ = child − parent fitness is credited to the pGC that made it (layer 0), then to the
pGC that made that pGC (layer 1), and so on up to the top layer. A pGC whose use count at layer d reaches a
multiple of N (`pgc_evolve_every`) is itself mutated by a layer-(d+1) pGC; the child joins layer d's pool.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from egp.engine.breeding import donor_index_of, run_pgc
from egp.engine.gene_pool import EpochRecord
from egp.engine.lineage import persist
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode

if TYPE_CHECKING:
    from egp.engine.engine import Engine


def use_pgc(
    engine: Engine, record: EpochRecord, pgc: GeneticCode, layer: int, delta: float, rng: random.Random
) -> None:
    """Credit Δ to `pgc` at `layer` and up the chain of pGCs that made it; evolve any that reached N uses."""
    config = engine.config
    pools = engine.pgcs
    store = engine.store
    signature: bytes | None = pgc.signature
    depth = layer
    while signature is not None and depth < config.pgc_layers:
        pools.credit(record, depth, signature, delta)
        stats = pools.stats_of(depth, signature)
        if (
            config.meta_evolution
            and depth + 1 < config.pgc_layers
            and stats.fitness_count % config.pgc_evolve_every == 0
        ):
            evolve_pgc(engine, record, engine.lookup(signature), depth, rng)
        creator = store.get(signature)
        signature = creator.pgc if creator is not None else None
        if signature is not None and signature not in store and not codon_registry().get(signature):
            break  # the pGC that made this one is not in the Gene Pool (any more): the roll-up ends here
        depth += 1


def evolve_pgc(engine: Engine, record: EpochRecord, pgc: GeneticCode, layer: int, rng: random.Random) -> None:
    """Mutate `pgc` with a layer-(layer+1) pGC; a new pGC child joins `layer`'s pool (`PgcPools.adopt`), a
    stillborn one costs the mutating pGC a Δ of −1."""
    pools = engine.pgcs
    mutator = engine.select_pgc(pgc, layer + 1, rng)
    donors, donor_index = _pool_donors(engine, layer)
    # pGCs stay small: every codon of a pGC is a mutation run on each use, so a long chain costs as much
    # as that many offspring and mostly breaks what the first link made.
    child, _new = run_pgc(engine, mutator, pgc, rng, donors, donor_index, engine.config.max_pgc_codons)
    if child is None or not child.is_pgc or child.signature in dict.fromkeys(pools.pool[layer]):
        if child is None:
            pools.credit(record, layer + 1, mutator.signature, -1.0)
        return
    persist(engine, record, child)
    pools.adopt(record, layer, child.signature, pgc.signature)
    engine.pgcs_evolved += 1


def _pool_donors(engine: Engine, layer: int) -> tuple[list[GeneticCode], dict[bytes, int] | None]:
    """Layer `layer`'s pool as crossover donors, and their index; made again only when the pool changed
    (a pool changes only when a pGC joins it, far less often than one evolves)."""
    pool = engine.pgcs.pool[layer]
    cached = engine.pool_donors.get(layer)
    if cached is not None and cached[0] == pool:
        return cached[1], cached[2]
    donors = [engine.lookup(s) for s in pool]
    index = donor_index_of(donors)
    engine.pool_donors[layer] = (list(pool), donors, index)
    return donors, index
