"""The Gene Pool interface the engine uses, and a fast in-memory implementation.

The protocol is about what evolution needs — GCs by signature, additive statistics, selection queries by
problem and by interface, and one atomic write per epoch — not about how rows are stored, so the SQL
implementation (SQLite for the embedded default, Postgres for a deployment) plugs in unchanged.

Statistics are kept as totals and counts (architecture principle 6) so that they merge between databases by
addition; the engine only ever sends *deltas*.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode


@dataclass(slots=True)
class ProblemStats:
    """A GC's statistics on one problem: running means as totals and counts, plus survivability."""

    fitness_total: float = 0.0
    fitness_count: int = 0
    evolvability_total: float = 0.0
    evolvability_count: int = 0
    survivability: float = 0.0
    descendants: int = 0

    @property
    def fitness(self) -> float:
        """Mean fitness (0 before any evaluation)."""
        return self.fitness_total / self.fitness_count if self.fitness_count else 0.0

    @property
    def evolvability(self) -> float:
        """Mean evolvability (1 before any offspring: optimism about the untried)."""
        return self.evolvability_total / self.evolvability_count if self.evolvability_count else 1.0

    def add(self, delta: ProblemStats) -> None:
        """Add a delta in place (survivability is a latest value, not a sum)."""
        self.fitness_total += delta.fitness_total
        self.fitness_count += delta.fitness_count
        self.evolvability_total += delta.evolvability_total
        self.evolvability_count += delta.evolvability_count
        self.descendants += delta.descendants
        if delta.fitness_count or delta.survivability:
            self.survivability = delta.survivability


@dataclass(slots=True)
class PgcStats:
    """A pGC's statistics at one layer: fitness and evolvability as running means (totals and counts)."""

    fitness_total: float = 0.0
    fitness_count: int = 0
    evolvability_total: float = 0.0
    evolvability_count: int = 0

    @property
    def fitness(self) -> float:
        """Mean pGC fitness (0.5 = neutral, used before any use)."""
        return self.fitness_total / self.fitness_count if self.fitness_count else 0.5

    @property
    def evolvability(self) -> float:
        """Mean pGC evolvability."""
        return self.evolvability_total / self.evolvability_count if self.evolvability_count else 0.0

    def add(self, delta: PgcStats) -> None:
        """Add a delta in place."""
        self.fitness_total += delta.fitness_total
        self.fitness_count += delta.fitness_count
        self.evolvability_total += delta.evolvability_total
        self.evolvability_count += delta.evolvability_count


@dataclass
class EpochRecord:
    """Everything one epoch of one island writes, applied atomically (with its ledger entry where kept)."""

    problem: bytes
    new_gcs: list[GeneticCode] = field(default_factory=list)
    problem_stats: dict[bytes, ProblemStats] = field(default_factory=dict)
    pgc_stats: dict[tuple[bytes, int], PgcStats] = field(default_factory=dict)
    job: str | None = None
    island: int = 0
    epoch: int = 0
    members: list[bytes] = field(default_factory=list)
    # The island's best fitness and generations without a better one after the epoch (a job's next epoch
    # starts from them, so stagnation is counted across epoch tasks).
    best: float = -1.0
    stale: int = 0
    # The problem's name, stored with its identity the first time (None: leave the stored name as it is).
    problem_name: str | None = None
    # In a job, the island's state after the epoch as JSON-ready data (egp.engine.island_epoch's
    # IslandSnapshot): the next epoch of the island, in any process, starts from it.
    state: dict[str, Any] | None = None


@dataclass(slots=True)
class ProblemRelation:
    """Evidence that two problems are related, as mergeable totals and counts (problem_a < problem_b).

    `family_distance` is declared, not measured: the distance between the parameters of two instances of one
    family (None for problems of different families). The fitness distance is the mean |f_a(g) − f_b(g)|
    over the best GCs of each re-scored on the other (equal interfaces only); `shared` is the mean Jaccard
    similarity of the sub-GC sets of their best GCs (content-addressed, so it works across interfaces).
    """

    problem_a: bytes
    problem_b: bytes
    family_distance: float | None = None
    fitness_distance_total: float = 0.0
    fitness_distance_count: int = 0
    shared_total: float = 0.0
    shared_count: int = 0

    @property
    def fitness_distance(self) -> float | None:
        """Mean fitness distance (None before any measurement)."""
        return (
            self.fitness_distance_total / self.fitness_distance_count if self.fitness_distance_count else None
        )

    @property
    def shared(self) -> float | None:
        """Mean shared sub-GC similarity (None before any measurement)."""
        return self.shared_total / self.shared_count if self.shared_count else None

    def other(self, problem: bytes) -> bytes:
        """The problem of the pair that is not `problem`."""
        return self.problem_b if problem == self.problem_a else self.problem_a

    def add(self, delta: ProblemRelation) -> None:
        """Merge a delta in place (the family distance is declared: the latest non-None one stands)."""
        if delta.family_distance is not None:
            self.family_distance = delta.family_distance
        self.fitness_distance_total += delta.fitness_distance_total
        self.fitness_distance_count += delta.fitness_distance_count
        self.shared_total += delta.shared_total
        self.shared_count += delta.shared_count


@dataclass(slots=True)
class PgcLayerFigures:
    """How one pGC layer performed on the runs of one problem family, as mergeable totals: per run, the
    pooled pGCs, how many were above fitness 0.5, and the sums of their fitness and evolvability."""

    family: str
    layer: int
    runs: int = 0
    pgcs: int = 0
    above_half: int = 0
    fitness_total: float = 0.0
    evolvability_total: float = 0.0

    def add(self, delta: PgcLayerFigures) -> None:
        """Merge a delta in place."""
        self.runs += delta.runs
        self.pgcs += delta.pgcs
        self.above_half += delta.above_half
        self.fitness_total += delta.fitness_total
        self.evolvability_total += delta.evolvability_total


@runtime_checkable
class GenePool(Protocol):
    """What the engine needs from a Gene Pool."""

    def get_many(self, signatures: Iterable[bytes]) -> dict[bytes, GeneticCode]:
        """The stored GCs among `signatures` (codons included), keyed by signature."""
        ...

    def put_many(self, gcs: Iterable[GeneticCode]) -> int:
        """Store GCs (sub-GCs first); existing signatures are left alone. Returns how many were new."""
        ...

    def problem_stats(self, problem: bytes, signatures: Iterable[bytes]) -> dict[bytes, ProblemStats]:
        """Statistics on `problem` of those `signatures` that have any."""
        ...

    def pgc_stats(self, layer: int, signatures: Iterable[bytes]) -> dict[bytes, PgcStats]:
        """Statistics at `layer` of those pGC `signatures` that have any."""
        ...

    def best(self, problem: bytes, limit: int) -> list[GeneticCode]:
        """Up to `limit` GCs with the highest fitness on `problem`, best first (ties by signature)."""
        ...

    def select_weighted(self, problem: bytes, count: int, seed: int) -> list[GeneticCode]:
        """`count` GCs scored on `problem` drawn (with replacement) with weight = survivability."""
        ...

    def match_interface(
        self, inputs: Sequence[int], outputs: Sequence[int], limit: int, seed: int
    ) -> list[GeneticCode]:
        """Up to `limit` stored GCs whose interface is exactly (inputs → outputs), in seeded random order."""
        ...

    def best_pgcs(self, layer: int, limit: int) -> list[GeneticCode]:
        """Up to `limit` pGCs with the highest fitness at `layer`, best first."""
        ...

    def record_epoch(self, record: EpochRecord) -> bool:
        """Apply an epoch's writes atomically; False (nothing written) if that epoch was already recorded."""
        ...

    def record_epochs(self, records: Sequence[EpochRecord]) -> list[bool]:
        """Apply several epochs' writes in one transaction, each at most once; which were written."""
        ...

    def epoch_recorded(self, job: str, island: int, epoch: int) -> bool:
        """Whether the ledger holds (job, island, epoch)."""
        ...

    def epoch_state(self, job: str, island: int, epoch: int) -> dict[str, Any] | None:
        """The snapshot recorded with the island's latest epoch at or before `epoch` (None if none)."""
        ...

    def members(self, job: str | None, island: int) -> list[bytes]:
        """The island's members as last recorded, best first."""
        ...

    def problems(self) -> dict[bytes, str | None]:
        """Every problem the Gene Pool has statistics for, by identity, with its name where known."""
        ...

    def problem_relations(self, problem: bytes) -> list[ProblemRelation]:
        """The recorded relations of `problem` with other problems."""
        ...

    def add_problem_relations(self, relations: Sequence[ProblemRelation]) -> None:
        """Merge relation deltas (totals add up; see ProblemRelation)."""
        ...

    def pgc_layer_figures(self, family: str) -> list[PgcLayerFigures]:
        """The pGC layer figures recorded for runs of problems of `family`, by layer."""
        ...

    def add_pgc_layer_figures(self, figures: Sequence[PgcLayerFigures]) -> None:
        """Merge pGC layer figure deltas."""
        ...

    def close(self) -> None:
        """Release connections or files."""
        ...


class MemoryGenePool:
    """A Gene Pool held in this process's memory: the fast implementation the engine uses by default."""

    def __init__(self) -> None:
        """An empty pool; shipped codons are always available without being stored."""
        self.gcs: dict[bytes, GeneticCode] = {}
        self.stats: dict[bytes, dict[bytes, ProblemStats]] = {}
        self.pgc: dict[int, dict[bytes, PgcStats]] = {}
        self.ledger: set[tuple[str | None, int, int]] = set()
        self.island_members: dict[tuple[str | None, int], list[bytes]] = {}
        self.problem_names: dict[bytes, str | None] = {}
        self.relations: dict[tuple[bytes, bytes], ProblemRelation] = {}
        self.layer_figures: dict[tuple[str, int], PgcLayerFigures] = {}
        self.states: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
        self._by_interface: dict[tuple[tuple[int, ...], tuple[int, ...]], list[bytes]] = {}

    def get_many(self, signatures: Iterable[bytes]) -> dict[bytes, GeneticCode]:
        """The stored GCs (or shipped codons) among `signatures`."""
        registry = codon_registry()
        found: dict[bytes, GeneticCode] = {}
        for signature in signatures:
            gc = self.gcs.get(signature) or registry.get(signature)
            if gc is not None:
                found[signature] = gc
        return found

    def put_many(self, gcs: Iterable[GeneticCode]) -> int:
        """Store GCs not stored yet."""
        added = 0
        for gc in gcs:
            if gc.signature not in self.gcs:
                self.gcs[gc.signature] = gc
                self._by_interface.setdefault((gc.inputs, gc.outputs), []).append(gc.signature)
                added += 1
        return added

    def problem_stats(self, problem: bytes, signatures: Iterable[bytes]) -> dict[bytes, ProblemStats]:
        """Statistics on `problem` for the given signatures."""
        table = self.stats.get(problem, {})
        return {s: table[s] for s in signatures if s in table}

    def pgc_stats(self, layer: int, signatures: Iterable[bytes]) -> dict[bytes, PgcStats]:
        """pGC statistics at `layer` for the given signatures."""
        table = self.pgc.get(layer, {})
        return {s: table[s] for s in signatures if s in table}

    def best(self, problem: bytes, limit: int) -> list[GeneticCode]:
        """The fittest GCs on `problem`."""
        table = self.stats.get(problem, {})
        stored = [item for item in table.items() if item[0] in self.gcs]
        ranked = sorted(stored, key=lambda item: (-item[1].fitness, item[0]))
        return [self.gcs[s] for s, _ in ranked[:limit]]

    def select_weighted(self, problem: bytes, count: int, seed: int) -> list[GeneticCode]:
        """Survivability-weighted draws among GCs scored on `problem`."""
        table = self.stats.get(problem, {})
        signatures = sorted(s for s in table if s in self.gcs)
        weights = [max(table[s].survivability, 1e-12) for s in signatures]
        if not signatures:
            return []
        rng = random.Random(seed)
        return [self.gcs[s] for s in rng.choices(signatures, weights, k=count)]

    def match_interface(
        self, inputs: Sequence[int], outputs: Sequence[int], limit: int, seed: int
    ) -> list[GeneticCode]:
        """Stored GCs with exactly this interface, in a seeded random order."""
        signatures = list(self._by_interface.get((tuple(inputs), tuple(outputs)), ()))
        random.Random(seed).shuffle(signatures)
        return [self.gcs[s] for s in signatures[:limit]]

    def best_pgcs(self, layer: int, limit: int) -> list[GeneticCode]:
        """The fittest pGCs at `layer`."""
        table = self.pgc.get(layer, {})
        registry = codon_registry()
        ranked = sorted(table.items(), key=lambda item: (-item[1].fitness, item[0]))
        result = []
        for signature, _ in ranked:
            gc = self.gcs.get(signature) or registry.get(signature)
            if gc is not None:
                result.append(gc)
            if len(result) >= limit:
                break
        return result

    def record_epoch(self, record: EpochRecord) -> bool:
        """Apply an epoch's GCs, statistic deltas and members, once per (job, island, epoch)."""
        key = (record.job, record.island, record.epoch)
        if record.job is not None and key in self.ledger:
            return False
        self.put_many(record.new_gcs)
        if record.problem_stats and self.problem_names.get(record.problem) is None:
            self.problem_names[record.problem] = record.problem_name
        table = self.stats.setdefault(record.problem, {})
        for signature, delta in record.problem_stats.items():
            stored = table.get(signature)
            if stored is None:
                table[signature] = stored = ProblemStats()
            stored.add(delta)
        for (signature, layer), pdelta in record.pgc_stats.items():
            self.pgc.setdefault(layer, {}).setdefault(signature, PgcStats()).add(pdelta)
        self.island_members[(record.job, record.island)] = list(record.members)
        if record.job is not None:
            self.ledger.add(key)
            if record.state is not None:
                self.states.setdefault((record.job, record.island), {})[record.epoch] = record.state
        return True

    def record_epochs(self, records: Sequence[EpochRecord]) -> list[bool]:
        """Apply several epochs' writes, each at most once (one process: nothing can interleave)."""
        return [self.record_epoch(record) for record in records]

    def epoch_recorded(self, job: str, island: int, epoch: int) -> bool:
        """Whether (job, island, epoch) was recorded."""
        return (job, island, epoch) in self.ledger

    def epoch_state(self, job: str, island: int, epoch: int) -> dict[str, Any] | None:
        """The state of the island's latest recorded epoch at or before `epoch`."""
        states = self.states.get((job, island), {})
        recorded = [e for e in states if e <= epoch]
        return states[max(recorded)] if recorded else None

    def members(self, job: str | None, island: int) -> list[bytes]:
        """The island's members as last recorded."""
        return list(self.island_members.get((job, island), []))

    def problems(self) -> dict[bytes, str | None]:
        """The problems with statistics, and their names."""
        return {p: self.problem_names.get(p) for p in self.stats}

    def problem_relations(self, problem: bytes) -> list[ProblemRelation]:
        """The relations of `problem`, ordered by the other problem."""
        found = [r for (a, b), r in self.relations.items() if problem in (a, b)]
        return sorted(found, key=lambda r: r.other(problem))

    def add_problem_relations(self, relations: Sequence[ProblemRelation]) -> None:
        """Merge relation deltas."""
        for delta in relations:
            key = (delta.problem_a, delta.problem_b)
            stored = self.relations.setdefault(key, ProblemRelation(*key))
            stored.add(delta)

    def pgc_layer_figures(self, family: str) -> list[PgcLayerFigures]:
        """The family's pGC layer figures by layer."""
        return sorted(
            (f for (fam, _), f in self.layer_figures.items() if fam == family), key=lambda f: f.layer
        )

    def add_pgc_layer_figures(self, figures: Sequence[PgcLayerFigures]) -> None:
        """Merge pGC layer figure deltas."""
        for delta in figures:
            stored = self.layer_figures.setdefault(
                (delta.family, delta.layer), PgcLayerFigures(delta.family, delta.layer)
            )
            stored.add(delta)

    def close(self) -> None:
        """Nothing to release."""


def finite_or_zero(value: float) -> float:
    """`value` if it is a finite number, else 0 (statistics never hold NaN or infinities)."""
    return value if math.isfinite(value) else 0.0


__all__ = [
    "EpochRecord",
    "GenePool",
    "MemoryGenePool",
    "PgcLayerFigures",
    "PgcStats",
    "ProblemRelation",
    "ProblemStats",
    "finite_or_zero",
]
