"""The pGCs in play: each layer's pool with its statistics, and the master selector's 4/2/1 choice.

Layer d's pool holds the pGCs that may mutate a layer-(d-1) target (layer 0: the problem's GCs). A pGC's
layer statistics are running means of Δ-derived figures: fitness (Δ/2 + 0.5) and evolvability (max(Δ, 0)).
The master selector z0 picks a category by weight 4/2/1 — the target lineage's effective pGCs, pGCs with
fitness above 0.5, the rest — then a pGC within it (domain spec §4.4).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import NamedTuple

from egp.engine.gene_pool import EpochRecord, GenePool, PgcStats
from egp.genetic_code.gc import GeneticCode

PGC_INHERITANCE = 0.75  # a new pGC starts at this share of its parent's fitness (Gen II)
CATEGORY_WEIGHTS = (4.0, 2.0, 1.0)  # effective pGCs, pGCs with fitness > 0.5, the rest
NEUTRAL_FITNESS = 0.5  # a pGC's fitness before its first use

# One layer's pool as (signature, statistics) pairs in pool order, then the statistics of pGCs credited at
# that layer but not in its pool: what a job's island carries from one epoch to the next.
LayerSnapshot = tuple[list[tuple[bytes, PgcStats | None]], list[tuple[bytes, PgcStats]]]


class PgcCategories(NamedTuple):
    """A layer's pool as the 4/2/1 choice sees it: each pGC's fitness, and the pGCs above 0.5 and the rest,
    each with the cumulative selection weights of the picks within the category."""

    fitness_of: dict[bytes, float]
    positive: list[bytes]
    positive_cumulative: list[float]
    negative: list[bytes]
    negative_cumulative: list[float]


def categorise_pgcs(fitness_of: dict[bytes, float]) -> PgcCategories:
    """The 4/2/1 choice's view of a layer's pool from each pGC's fitness (in pool order): pGCs above 0.5
    weighted by (fitness − 0.5), the rest by their fitness (at least 1e-6)."""
    positive: list[bytes] = []
    positive_w: list[float] = []
    negative: list[bytes] = []
    negative_w: list[float] = []
    for signature, value in fitness_of.items():
        if value > 0.5:
            positive.append(signature)
            positive_w.append(value - 0.5)
        else:
            negative.append(signature)
            negative_w.append(value if value > 1e-6 else 1e-6)
    return PgcCategories(
        fitness_of, positive, list(accumulate(positive_w)), negative, list(accumulate(negative_w))
    )


def choose_pgc(
    categories: PgcCategories, recorded: Sequence[bytes] | None, draw: Callable[[], float]
) -> bytes:
    """The master selector z0 on a layer's `categories`: a category by weight 4/2/1 (the target lineage's
    effective pGCs `recorded`, fitness > 0.5, the rest), then a pGC within it, from two `draw()`s.

    Effective pGCs are weighted by their fitness. Runs once per offspring: kept to plain loops.
    """
    fitness_of = categories.fitness_of
    effective = [s for s in recorded if s in fitness_of] if recorded else []
    # Cumulative weights, as random.choices would accumulate them from the 4/2/1 category weights (an
    # empty category weighs 0): the same draws, without building the lists per offspring.
    first = CATEGORY_WEIGHTS[0] if effective else 0.0
    second = first + (CATEGORY_WEIGHTS[1] if categories.positive else 0.0)
    third = second + (CATEGORY_WEIGHTS[2] if categories.negative else 0.0)
    category = bisect_right((first, second, third), draw() * third, 0, 2)  # 0, 1 or 2
    if category == 0:
        weights = list(accumulate([max(fitness_of[s], 1e-6) for s in effective]))
        return pick(effective, weights, draw())
    if category == 1:
        return pick(categories.positive, categories.positive_cumulative, draw())
    return pick(categories.negative, categories.negative_cumulative, draw())


def pick(population: Sequence[bytes], cum_weights: Sequence[float], draw: float) -> bytes:
    """`rng.choices(population, cum_weights=cum_weights)[0]` given the draw `rng.random()`: the same pick,
    without choices' list and checks (this runs for every offspring)."""
    return population[bisect_right(cum_weights, draw * cum_weights[-1], 0, len(population) - 1)]


class PgcPools:
    """Each layer's pool of pGCs in play, their layer statistics, and the 4/2/1 categories of each layer
    (rebuilt after any statistic of that layer changes)."""

    def __init__(self, bootstrap: Sequence[GeneticCode], layers: int, limit: int) -> None:
        """`layers` pools, each starting with the `bootstrap` pGC codons and holding at most `limit`."""
        self.bootstrap = [codon.signature for codon in bootstrap]
        self._bootstrap_set = frozenset(self.bootstrap)
        self.limit = limit
        self.pool: list[list[bytes]] = [list(self.bootstrap) for _ in range(layers)]
        self.stats: list[dict[bytes, PgcStats]] = [{} for _ in range(layers)]
        self._categories: list[PgcCategories | None] = [None] * layers

    @property
    def layers(self) -> int:
        """How many layers of pGCs there are."""
        return len(self.pool)

    def load(self, gene_pool: GenePool, load_closure: Callable[[Sequence[bytes]], bool]) -> None:
        """Bring the Gene Pool's best pGCs of each layer (those `load_closure` can load) and their statistics
        into the pools."""
        for layer in range(self.layers):
            pool = self.pool[layer]
            for gc in gene_pool.best_pgcs(layer, self.limit):
                if gc.signature not in pool and load_closure([gc.signature]):
                    pool.append(gc.signature)
            for signature, value in gene_pool.pgc_stats(layer, pool).items():
                self.stats[layer][signature] = PgcStats(
                    value.fitness_total,
                    value.fitness_count,
                    value.evolvability_total,
                    value.evolvability_count,
                )
            self._categories[layer] = None

    def snapshot(self) -> list[LayerSnapshot]:
        """Every layer's pool and statistics, to restore exactly with `restore`."""
        layers: list[LayerSnapshot] = []
        for pool, stats in zip(self.pool, self.stats, strict=True):
            pooled = dict.fromkeys(pool)
            members = [(s, _copy(stats[s]) if s in stats else None) for s in pool]
            others = [(s, _copy(value)) for s, value in stats.items() if s not in pooled]
            layers.append((members, others))
        return layers

    def restore(self, snapshot: Sequence[LayerSnapshot]) -> None:
        """Replace the pools and statistics with a `snapshot` of as many layers."""
        if len(snapshot) != self.layers:
            raise ValueError(f"a pGC snapshot of {len(snapshot)} layers for {self.layers} layers")
        for layer, (members, others) in enumerate(snapshot):
            self.pool[layer] = [signature for signature, _ in members]
            stats = {s: _copy(value) for s, value in members if value is not None}
            stats.update((s, _copy(value)) for s, value in others)
            self.stats[layer] = stats
            self._categories[layer] = None

    def stats_of(self, layer: int, signature: bytes) -> PgcStats:
        """The running statistics of `signature` at `layer`, created empty if it has none."""
        table = self.stats[layer]
        stats = table.get(signature)
        if stats is None:
            stats = table[signature] = PgcStats()
        return stats

    def credit(self, record: EpochRecord, layer: int, signature: bytes, delta: float) -> None:
        """Update a pGC's layer statistics, and the epoch's deltas, with Δ (fitness (Δ/2 + 0.5), evolvability
        max(Δ, 0))."""
        fitness, evolvability = delta / 2 + 0.5, delta if delta > 0.0 else 0.0
        epoch_stats = record.pgc_stats.get((signature, layer))
        if epoch_stats is None:
            epoch_stats = record.pgc_stats[(signature, layer)] = PgcStats()
        for stats in (self.stats_of(layer, signature), epoch_stats):
            stats.fitness_total += fitness
            stats.fitness_count += 1
            stats.evolvability_total += evolvability
            stats.evolvability_count += 1
        self._categories[layer] = None

    def categories(self, layer: int) -> PgcCategories:
        """The 4/2/1 categories of `layer`'s pool, cached until a statistic of that layer changes."""
        cached = self._categories[layer]
        if cached is None:
            get = self.stats[layer].get
            fitness_of: dict[bytes, float] = {}
            for signature in self.pool[layer]:
                stats = get(signature)
                fitness_of[signature] = (
                    stats.fitness_total / stats.fitness_count
                    if stats is not None and stats.fitness_count
                    else NEUTRAL_FITNESS
                )
            cached = self._categories[layer] = categorise_pgcs(fitness_of)
        return cached

    def adopt(self, record: EpochRecord, layer: int, child: bytes, parent: bytes) -> None:
        """Add an evolved pGC to `layer`'s pool with PGC_INHERITANCE of its parent's statistics (recorded as
        the epoch's delta); past the limit, the weakest evolved pGC retires (the bootstrap codons stay)."""
        parent_stats = self.stats_of(layer, parent)
        inherited = PgcStats(
            PGC_INHERITANCE * parent_stats.fitness * 2, 2, PGC_INHERITANCE * parent_stats.evolvability * 2, 2
        )
        self.stats[layer][child] = inherited
        self._categories[layer] = None
        record.pgc_stats.setdefault((child, layer), PgcStats()).add(inherited)
        pool = self.pool[layer]
        pool.append(child)
        if len(pool) > self.limit:
            bootstrap = self._bootstrap_set
            evolved = [s for s in pool if s not in bootstrap]
            weakest = min(evolved, key=lambda s: (self.stats[layer][s].fitness, s))
            pool.remove(weakest)


def _copy(stats: PgcStats) -> PgcStats:
    """A copy of `stats` (snapshots must not share mutable statistics with the live pools)."""
    return PgcStats(
        stats.fitness_total, stats.fitness_count, stats.evolvability_total, stats.evolvability_count
    )
