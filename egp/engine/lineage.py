"""Lineage and persistence: what an epoch writes to the Gene Pool, and the statistics that go with it.

An epoch record holds the GCs to store (sub-GCs first), statistic deltas and the island's members. An island's
members, the run's best GC and everything they are made of or descend from are stored at each flush; a GC
that was in a population only between two flushes (and left no descendant there) is counted and credited,
not stored, so the lineage of every stored GC is unbroken in the Gene Pool while most transient GCs are not
written at all.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from typing import TYPE_CHECKING

from egp.engine.evaluation import Score
from egp.engine.gene_pool import EpochRecord, ProblemStats
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode

if TYPE_CHECKING:
    from egp.engine.engine import Engine
    from egp.engine.population import Island

PARENTAL_PROTECTION = 0.75  # a new child's survivability is at least this share of its parent's


def problem_delta(record: EpochRecord, signature: bytes) -> ProblemStats:
    """The statistic delta of `signature` on the record's problem, created empty if missing."""
    stats = record.problem_stats.get(signature)
    if stats is None:
        stats = record.problem_stats[signature] = ProblemStats()
    return stats


def persist(engine: Engine, record: EpochRecord, gc: GeneticCode) -> None:
    """Queue `gc` and any of its sub-GCs not yet written for the epoch's record (sub-GCs first)."""
    persisted = engine.persisted  # holds the shipped codons from the start: they are in every database
    if gc.signature in persisted:
        return
    pending: list[GeneticCode] = []
    stack = [gc]
    lookup = engine.lookup
    while stack:
        node = stack.pop()
        signature = node.signature
        if signature in persisted:
            continue
        persisted.add(signature)
        pending.append(node)
        for sub in (node.gca, node.gcb):
            if sub is not None and sub not in persisted:
                stack.append(lookup(sub))
    record.new_gcs.extend(reversed(pending))


def record_members(engine: Engine, island: Island) -> None:
    """Queue the island's members (e.g. its initial population) and their first scores for storage, so
    every offspring's lineage can be followed back through the Gene Pool."""
    record = island.record
    assert record is not None
    for signature in island.members:
        if signature in engine.persisted or signature in record.problem_stats:
            continue
        persist(engine, record, engine.lookup(signature))
        stats = problem_delta(record, signature)
        stats.fitness_total += engine.fitness(signature)
        stats.fitness_count += 1
        stats.survivability = engine.survivability[signature]


def child_statistics(
    engine: Engine,
    record: EpochRecord,
    parent_sig: bytes,
    child: GeneticCode,
    score: Score,
    delta: float,
    pgc: GeneticCode,
) -> None:
    """A new child's first statistics (kept aside until it enters a population), the parent's descendant
    count, and the pGCs that improved the child's lineage."""
    signature = child.signature
    if signature not in engine.credited and signature not in engine.persisted:
        engine.credited.add(signature)
        protected = max(score.fitness, PARENTAL_PROTECTION * engine.survivability[parent_sig])
        engine.survivability[signature] = protected
        # Kept aside until selection: only offspring that enter the population are stored.
        engine.pending_stats[signature] = ProblemStats(score.fitness, 1, survivability=protected)
        problem_delta(record, parent_sig).descendants += 1
    if delta > 0:
        # The pGCs that improved this lineage, most recent first; a child that did not improve on its
        # parent starts without any, so one lucky pGC cannot take over every lineage descending from it.
        pending = engine.effective_pending
        earlier = pending.get(parent_sig) or engine.effective.get(parent_sig, ())
        pending[signature] = (pgc.signature, *earlier[:1])


def store_new_members(engine: Engine, island: Island) -> None:
    """Note the offspring that entered the population, with their first statistics, for `flush`.

    Offspring that did not survive selection are not stored: their evaluation is counted, and it still
    credits their parent (evolvability, descendants) and the pGCs that made them.
    """
    record = island.record
    assert record is not None
    pending = engine.pending_stats
    persisted = engine.persisted
    joined = engine.joined
    for signature in island.members:
        if signature in persisted or signature in joined:
            continue
        stats = pending.pop(signature, None)
        if stats is None:  # credited in an earlier generation, and in the population only now
            stats = ProblemStats(engine.fitness(signature), 1, survivability=engine.survivability[signature])
        joined[signature] = island.index
        problem_delta(record, signature).add(stats)
    pending.clear()


def flush(engine: Engine, island: Island) -> None:
    """Write the island's epoch record to the Gene Pool: its members, the best GC so far, and everything
    they are made of or descend from that the Gene Pool does not hold yet, with their statistics."""
    record = island.record
    if record is None:
        return
    store_lineage(engine, island)
    record.members = list(island.members)
    record.best, record.stale = island.best, island.stale
    for signature in island.members:
        stats = record.problem_stats.get(signature)
        if stats is not None:
            stats.survivability = engine.survivability[signature]
    engine.pool.record_epoch(record)
    engine.in_gene_pool.update(gc.signature for gc in record.new_gcs)
    island.record = None


def store_lineage(engine: Engine, island: Island) -> None:
    """Queue the island's members and the best GC with their sub-GCs and ancestors made since the last
    flush; drop the statistics of the GCs that were in the population only in between."""
    record = island.record
    assert record is not None
    persisted = engine.persisted
    roots = list(island.members)
    best = engine.best_signature()
    if best is not None and best not in persisted:
        roots.append(best)
        if best not in engine.joined:  # it never entered a population: its first statistics go here
            fitness = engine.fitness(best)
            first = ProblemStats(fitness, 1, survivability=engine.survivability.get(best, fitness))
            problem_delta(record, best).add(first)
    store = engine.store
    stack = [s for s in roots if s not in persisted]
    while stack:
        signature = stack.pop()
        gc = store.get(signature)
        if gc is None or signature in persisted:
            continue  # stored already, or read from the Gene Pool (so in it)
        persist(engine, record, gc)
        stack.extend(a for a in (gc.ancestora, gc.ancestorb) if a is not None and a not in persisted)
    for signature in [s for s in record.problem_stats if s not in persisted]:
        del record.problem_stats[signature]
    for signature in [s for s, index in engine.joined.items() if index == island.index]:
        del engine.joined[signature]


def closure_for(
    gcs: Sequence[GeneticCode],
    lookup: Callable[[bytes], GeneticCode],
    stored: Container[bytes] = frozenset(),
) -> list[GeneticCode]:
    """`gcs` and every sub-GC of theirs (found by `lookup`) that is not a shipped codon, sub-GCs first; a GC
    in `stored` (known to be in the Gene Pool with its sub-GCs) is left out with everything under it."""
    registry = codon_registry()
    seen: dict[bytes, GeneticCode] = {}
    for gc in gcs:
        stack = [gc]
        while stack:
            node = stack.pop()
            if node.signature in seen or node.signature in stored or registry.get(node.signature) is node:
                continue
            seen[node.signature] = node
            for sub in (node.gca, node.gcb):
                if sub is not None and sub not in seen:
                    stack.append(lookup(sub))
    return sorted(seen.values(), key=lambda g: (g.code_depth, g.signature))
