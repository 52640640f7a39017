"""Survival: which GCs stay in an island — the elite, then the fittest offspring, one per behaviour first.

Survivability is a GC's fitness (with parental protection for new children), or with niche survivability
its share of each test case's reward among the GCs that score in it (domain spec §4.6). Retired GCs stay in
the Gene Pool.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from egp.engine.engine import Engine
    from egp.engine.population import Island


def select_survivors(engine: Engine, island: Island, children: Sequence[bytes]) -> None:
    """Keep the island's elite, then the fittest offspring by survivability, one per behaviour first.

    Only `elitism` of the places go to parents: truncating parents and offspring together lets one lineage
    take the whole island within a few generations. Offspring that differ only in lineage or dead code
    behave exactly alike; a second GC with an already-kept behaviour ranks after every distinct one (ties:
    fitness, size, signature). With niche survivability the island's survivabilities are recomputed first,
    over the members and the offspring together.
    """
    config = engine.config
    if engine.niche:
        niche_survivability(engine, [*island.members, *children])
    ranked = rank(engine, island.members)
    elite = ranked[: max(1, round(config.elitism * config.population))]
    in_elite = set(elite)
    fresh = rank(engine, [s for s in dict.fromkeys(children) if s not in in_elite])
    rest = [s for s in ranked if s not in in_elite]
    island.members = _distinct_by_behaviour(engine, [*elite, *fresh, *rest], fresh)[: config.population]


def rank(engine: Engine, signatures: Sequence[bytes]) -> list[bytes]:
    """`signatures` without repeats, by survivability, then fitness, then fewer codons, then signature."""
    survivability = engine.survivability
    scores = engine.scores
    lookup = engine.lookup
    return sorted(
        dict.fromkeys(signatures),
        key=lambda s: (-survivability[s], -scores[s].fitness, lookup(s).num_codons, s),
    )


def _distinct_by_behaviour(engine: Engine, ordered: list[bytes], newer: Sequence[bytes]) -> list[bytes]:
    """`distinct_first` by behaviour on the problem; a newer GC takes a behaviour's place from an older
    one only if it is at most the run's `drift_growth` codons larger."""
    grow = engine.drift_growth
    scores = engine.scores
    lookup = engine.lookup
    return distinct_first(
        ordered,
        newer,
        lambda signature: scores[signature].behaviour,
        None if grow is None else lambda new, old: lookup(new).num_codons <= lookup(old).num_codons + grow,
    )


def distinct_first(
    ordered: list[bytes],
    newer: Sequence[bytes],
    behaviour: Callable[[bytes], bytes],
    may_replace: Callable[[bytes, bytes], bool] | None = None,
) -> list[bytes]:
    """`ordered` with one GC per behaviour first (in order of first appearance), the repeats after.

    A behaviour's representative is its first GC in `ordered`, unless one of the `newer` GCs (this
    generation's offspring) has it: then the first of those (if `may_replace(new, old)` allows). A child
    that behaves exactly like its parent thus takes the parent's place (neutral drift), so an island can
    walk across a fitness plateau instead of freezing on the first GC that reached it.
    """
    fresh = set(newer)
    chosen: dict[bytes, bytes] = {}
    for signature in ordered:
        value = behaviour(signature)
        current = chosen.get(value)
        if current is None or (
            signature in fresh
            and current not in fresh
            and (may_replace is None or may_replace(signature, current))
        ):
            chosen[value] = signature
    distinct = list(chosen.values())
    kept = set(distinct)
    return distinct + [s for s in ordered if s not in kept]


def niche_survivability(engine: Engine, signatures: Sequence[bytes]) -> None:
    """Niche competition (domain spec §4.6): a test group's reward is shared among the GCs scoring in it.

    Every test case is its own group. A GC's survivability is Σ_g f_g·η / Σ_{competitors in g} η: solving
    a case few others solve is worth more than solving a crowded one, and within a group smaller GCs take
    a bigger share. Efficiency η is the size term z = min(Z_thr/Z, Z_comp/Z, 1), with Z the GC's codon
    count and Z_comp its group's competitors' mean (η = 1 with `niche_size_threshold=None`). The spec's
    time term is left out: measured times would make selection depend on the machine's timing noise and
    break determinism.
    """
    unique = list(dict.fromkeys(signatures))
    cases = [engine.scores[s].cases for s in unique]
    if any(c is None for c in cases):
        return
    matrix = np.vstack(cases)
    scoring = matrix > 0
    competitors = np.count_nonzero(scoring, axis=0)
    threshold = engine.config.niche_size_threshold
    if threshold is None:
        shared = matrix / np.maximum(competitors, 1)
    else:
        sizes = np.array([engine.lookup(s).num_codons for s in unique], dtype=np.float64)
        eta = niche_size_efficiency(sizes, scoring, threshold)
        weighted = np.where(scoring, eta, 0.0)
        shared = matrix * eta / np.maximum(weighted.sum(axis=0), sys.float_info.min)
    for signature, value in zip(unique, shared.sum(axis=1).tolist(), strict=True):
        engine.survivability[signature] = value


def niche_size_efficiency(
    sizes: npt.NDArray[np.float64], scoring: npt.NDArray[np.bool_], threshold: float
) -> npt.NDArray[np.float64]:
    """z = min(Z_thr/Z, Z_comp/Z, 1) per (GC, group): `sizes` Z per GC, `scoring` which GCs score in which
    group (Z_comp is the mean size of those), `threshold` Z_thr; floored at the smallest positive float."""
    counts = np.count_nonzero(scoring, axis=0)
    mean = (scoring * sizes[:, None]).sum(axis=0) / np.maximum(counts, 1)
    z = np.minimum(np.minimum(threshold, mean)[None, :] / np.maximum(sizes, 1.0)[:, None], 1.0)
    result: npt.NDArray[np.float64] = np.maximum(z, sys.float_info.min)
    return result
