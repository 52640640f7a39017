"""Initial generation sources (domain spec §6.2): where an island's first members come from.

Sources are walked in order — BEST (the best GCs already scored on this problem), DIVERSE (good GCs of this
problem that share little with each other), RELATED (the best GCs of related problems), UNRELATED (GCs of
the same interface from unrelated problems), SPONTANEOUS (assembled from the problem's codons) — each taking
up to its limit (a share of the population). A source that cannot fill its quota passes what is left to the
next one (underflow NEXT) or drops it (NONE). Candidates from other problems must have this problem's
interface and are re-scored on it (GCs of related problems with other interfaces come in as building blocks,
egp.engine.blocks).

On an empty Gene Pool every source but SPONTANEOUS is empty, so a cold run draws exactly the spontaneous
members it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egp.engine.config import EvolutionError
from egp.engine.relations import sub_gc_set
from egp.genetic_code.gc import GeneticCode

if TYPE_CHECKING:
    from egp.engine.engine import Engine

SOURCE_NAMES = ("best", "diverse", "related", "unrelated", "spontaneous")
DIVERSE_MAX_SHARED = 0.5  # a DIVERSE member shares at most this share of its sub-GCs with any chosen before


@dataclass(frozen=True)
class SourceSpec:
    """One initial-generation source: its name, its limit as a share of the population, its underflow."""

    name: str
    limit: float
    underflow: str = "next"

    def check(self) -> None:
        """Raise EvolutionError naming what is wrong with this source."""
        if self.name not in SOURCE_NAMES:
            raise EvolutionError(f"unknown source {self.name!r}; sources: {', '.join(SOURCE_NAMES)}")
        if not 0.0 <= self.limit <= 1.0:
            raise EvolutionError(f"source {self.name}: limit must be in [0, 1], got {self.limit}")
        if self.underflow not in ("next", "none"):
            raise EvolutionError(
                f"source {self.name}: underflow must be 'next' or 'none', got {self.underflow!r}"
            )


# BEST's unfilled share is dropped, not passed on: on a problem new to the Gene Pool it would otherwise go to
# RELATED, which then filled up to three quarters of an island with a few related programs and solved later
# steps of a curriculum less often (benchmarks/README.md). SPONTANEOUS takes whatever room is left.
DEFAULT_SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("best", 0.5, "none"),
    SourceSpec("diverse", 0.0),
    SourceSpec("related", 0.25),
    SourceSpec("unrelated", 0.0),
    SourceSpec("spontaneous", 1.0),
)


def parse_sources(text: str) -> tuple[SourceSpec, ...]:
    """Sources from `best=0.5,related=0.25:none,spontaneous=1` (name=limit[:underflow]); those not named keep
    their default limit, and the order is always the spec's."""
    given: dict[str, SourceSpec] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, rest = part.partition("=")
        limit_text, _, underflow = rest.partition(":")
        try:
            limit = float(limit_text)
        except ValueError:
            raise EvolutionError(
                f"source {part!r}: expected NAME=LIMIT[:next|none], e.g. related=0.25"
            ) from None
        if not sep:
            raise EvolutionError(f"source {part!r}: expected NAME=LIMIT[:next|none], e.g. related=0.25")
        spec = SourceSpec(name.strip().lower(), limit, (underflow or "next").strip().lower())
        spec.check()
        given[spec.name] = spec
    return tuple(given.get(default.name, default) for default in DEFAULT_SOURCES)


def initial_population(engine: Engine, island: int) -> list[bytes]:
    """The island's first members from the configured sources, scored on the problem."""
    from egp.engine.population import distinct_spontaneous, epoch_rng, within_budget

    config = engine.config
    size = config.population
    sources = config.sources if config.sources is not None else DEFAULT_SOURCES
    members: list[bytes] = []
    carried = 0
    with engine.generation_scope():
        for spec in sources:
            quota = round(spec.limit * size) + carried
            room = size - len(members)
            wanted = min(quota, room)
            if spec.name == "spontaneous":
                found = distinct_spontaneous(engine, epoch_rng(config.seed, island, -1), members)[:wanted]
            else:
                found = _draw(engine, spec.name, island, wanted, members)
            members += found
            carried = quota - len(found) if spec.underflow == "next" else 0
        if not members:
            raise EvolutionError(f"cannot assemble any GC for {engine.problem.name} from its codons")
        members = within_budget(engine, members)
        for signature in members:
            engine.score(engine.lookup(signature))
    return members


def _draw(engine: Engine, source: str, island: int, wanted: int, taken: Sequence[bytes]) -> list[bytes]:
    """Up to `wanted` new members from `source` (not in `taken`), this island's share of its candidates."""
    if wanted <= 0:
        return []
    islands = engine.config.islands
    if source == "best":
        candidates = engine.pool.best(engine.problem_id, wanted * islands)[island::islands]
    elif source == "diverse":
        candidates = _diverse(
            engine, engine.pool.best(engine.problem_id, 8 * wanted * islands)[island::islands]
        )
    elif source == "related":
        candidates = _related(engine, wanted * islands)[island::islands]
    else:
        candidates = _unrelated(engine, wanted * islands)[island::islands]
    chosen: list[bytes] = []
    seen = set(taken)
    for gc in candidates:
        if len(chosen) >= wanted:
            break
        if gc.signature in seen or not engine.load_closure([gc.signature]):
            continue
        if gc.inputs != engine.inputs or gc.outputs != engine.outputs:
            continue
        seen.add(gc.signature)
        chosen.append(gc.signature)
    return chosen


def _diverse(engine: Engine, candidates: list[GeneticCode]) -> list[GeneticCode]:
    """Good GCs of the problem, skipping any that shares more than DIVERSE_MAX_SHARED of its sub-GCs with
    one chosen before (far apart in ancestry: little common material)."""
    chosen: list[tuple[GeneticCode, set[bytes]]] = []
    for gc in candidates:
        subs = sub_gc_set(engine, [gc])
        if all(len(subs & other) <= DIVERSE_MAX_SHARED * len(subs) for _, other in chosen):
            chosen.append((gc, subs))
    return [gc for gc, _ in chosen]


def _related(engine: Engine, wanted: int) -> list[GeneticCode]:
    """The best GCs with this problem's interface of the related problems, closest problem first.

    A related GC of another interface is not adapted into a member: measured on even-parity 3 → 4, parity-3
    programs wrapped to take four inputs filled a quarter of the island with near-copies of a few programs
    and the warm runs solved less often than cold ones. Such GCs reach a new problem as building blocks.
    """
    found: list[GeneticCode] = []
    for related in engine.related:
        for gc in engine.pool.best(related.identity, wanted):
            if gc.inputs == engine.inputs and gc.outputs == engine.outputs:
                found.append(gc)
        if len(found) >= wanted:
            break
    return found[:wanted]


def _unrelated(engine: Engine, wanted: int) -> list[GeneticCode]:
    """GCs with exactly this problem's interface that no related problem or this one scored best."""
    related = {r.identity for r in engine.related}
    own = {g.signature for g in engine.pool.best(engine.problem_id, wanted)}
    for identity in related:
        own.update(g.signature for g in engine.pool.best(identity, wanted))
    matches = engine.pool.match_interface(engine.inputs, engine.outputs, 4 * wanted, engine.config.seed)
    return [gc for gc in matches if gc.signature not in own][:wanted]
