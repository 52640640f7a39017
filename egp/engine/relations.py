"""How problems relate (domain spec §5.1): which problems of a Gene Pool a run may learn from, and the
evidence a finished run leaves about its problem and the others.

Two problems are related when they are instances of one family within `RELATED_DISTANCE` of each other (the
distance between their parameters, declared), or when runs measured that their best programs share sub-GCs
(content addressing makes a shared building block the same signature in both). A finished run records, for
its problem and every other problem with statistics: the family distance, the fitness distance (the other
problem's best GCs re-scored on this one, equal interfaces only) and the shared sub-GC similarity (Jaccard of
the sub-GC sets of both problems' best GCs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egp.engine.gene_pool import GenePool, PgcLayerFigures, ProblemRelation
from egp.genetic_code.gc import GeneticCode
from egp.problems.base import Problem

if TYPE_CHECKING:
    from egp.engine.engine import Engine

RELATED_DISTANCE = 4.0  # domain spec §6.2: RELATED's maximum_problem_distance
BEST_COMPARED = 8  # best GCs of each problem compared when a run records its relations
MAX_PROBLEMS_COMPARED = 64  # problems a finished run compares itself with (most recently named first)


@dataclass(frozen=True)
class RelatedProblem:
    """Another problem of the Gene Pool and how close it is (smaller is closer; 0 is the same family and
    parameters, which cannot happen for two problems)."""

    identity: bytes
    name: str | None
    closeness: float


def family_parameters(name: str | None) -> tuple[str, tuple[tuple[str, int], ...]] | None:
    """The family and parameters a problem name declares (None if it is of no family or unknown here)."""
    if name is None:
        return None
    from egp.problems.families import FAMILIES
    from egp.problems.registry import BUILTIN_PROBLEMS

    for family in FAMILIES:
        match = family.pattern.fullmatch(name)
        if match is not None:
            return family.name, tuple(zip(family.parameters, (int(g) for g in match.groups()), strict=True))
    shipped = BUILTIN_PROBLEMS.get(name)
    if shipped is not None and shipped.family is not None:
        return shipped.family, shipped.parameters
    return None


def family_distance(first: str | None, second: str | None) -> float | None:
    """The Euclidean distance between the parameters of two instances of one family (None otherwise)."""
    a, b = family_parameters(first), family_parameters(second)
    if a is None or b is None or a[0] != b[0]:
        return None
    return math.sqrt(sum((x - y) ** 2 for (_, x), (_, y) in zip(a[1], b[1], strict=True)))


def related_problems(problem: Problem, pool: GenePool) -> list[RelatedProblem]:
    """The Gene Pool's problems related to `problem`, closest first: same family within RELATED_DISTANCE, or
    measured to share sub-GCs (closeness 10·(1 − similarity): a strong share ranks with a near parameter)."""
    recorded = {r.other(problem.identity): r for r in pool.problem_relations(problem.identity)}
    found: list[RelatedProblem] = []
    for identity, name in pool.problems().items():
        if identity == problem.identity:
            continue
        distance = family_distance(problem.name, name)
        relation = recorded.get(identity)
        shared = relation.shared if relation is not None else None
        if distance is None and relation is not None:
            distance = relation.family_distance
        closeness = relation_closeness(distance, shared)
        if closeness is not None and closeness <= RELATED_DISTANCE:
            found.append(RelatedProblem(identity, name, closeness))
    return sorted(found, key=lambda r: (r.closeness, r.identity))


def relation_closeness(distance: float | None, shared: float | None) -> float | None:
    """How close two problems are from their family distance and measured shared sub-GC similarity
    (None: no evidence); they are related when it is at most RELATED_DISTANCE."""
    closeness = distance
    if shared is not None and shared > 0.0:
        by_share = 10.0 * (1.0 - shared)
        closeness = by_share if closeness is None else min(closeness, by_share)
    return closeness


def sub_gc_set(engine: Engine, gcs: Sequence[GeneticCode]) -> set[bytes]:
    """The signatures of every non-codon sub-GC of `gcs` (themselves included), loading them as needed."""
    seen: set[bytes] = set()
    stack = [gc.signature for gc in gcs]
    while stack:
        signature = stack.pop()
        if signature in seen or not engine.load_closure([signature]):
            continue
        gc = engine.lookup(signature)
        if gc.codon is not None:
            continue
        seen.add(signature)
        stack.extend(s for s in (gc.gca, gc.gcb) if s is not None and s not in seen)
    return seen


def record_run_knowledge(engine: Engine) -> None:
    """After a run: record its problem's relations with the Gene Pool's other problems, and how each pGC
    layer performed for its problem's family."""
    pool = engine.pool
    problem = engine.problem
    own_best = pool.best(engine.problem_id, BEST_COMPARED)
    own_set = sub_gc_set(engine, own_best)
    others = [(p, n) for p, n in pool.problems().items() if p != engine.problem_id][:MAX_PROBLEMS_COMPARED]
    relations: list[ProblemRelation] = []
    for identity, name in others:
        theirs = pool.best(identity, BEST_COMPARED)
        if not theirs:
            continue
        a, b = sorted((engine.problem_id, identity))
        relation = ProblemRelation(a, b, family_distance(problem.name, name))
        their_set = sub_gc_set(engine, theirs)
        union = own_set | their_set
        if union:
            relation.shared_total, relation.shared_count = len(own_set & their_set) / len(union), 1
        same_interface = [g for g in theirs if g.inputs == engine.inputs and g.outputs == engine.outputs]
        # Re-scoring runs the GCs here: not with an evaluator that is the executor pool's (remote mode).
        if same_interface and not getattr(engine.evaluator, "batched", False):
            stats = pool.problem_stats(identity, [g.signature for g in same_interface])
            gaps = [
                abs(stats[g.signature].fitness - engine.evaluator.score(g).fitness)
                for g in same_interface
                if g.signature in stats
            ]
            if gaps:
                relation.fitness_distance_total, relation.fitness_distance_count = sum(gaps) / len(gaps), 1
        relations.append(relation)
    pool.add_problem_relations(relations)
    pool.add_pgc_layer_figures(layer_figures(engine))


def layer_figures(engine: Engine) -> list[PgcLayerFigures]:
    """This run's pGC layers as figures for its problem's family (its name when it has no family)."""
    family = engine.problem.family or engine.problem.name
    figures = []
    for layer, pooled in enumerate(engine.pgcs.pool):
        stats = [engine.pgcs.stats_of(layer, s) for s in pooled]
        figures.append(
            PgcLayerFigures(
                family,
                layer,
                runs=1,
                pgcs=len(stats),
                above_half=sum(1 for s in stats if s.fitness > 0.5),
                fitness_total=sum(s.fitness for s in stats),
                evolvability_total=sum(s.evolvability for s in stats),
            )
        )
    return figures


def describe_relations(problem: Problem, pool: GenePool) -> list[dict[str, object]]:
    """The recorded and declared relations of `problem` as `egp problems related` shows them."""
    names = pool.problems()
    recorded = {r.other(problem.identity): r for r in pool.problem_relations(problem.identity)}
    related = {r.identity for r in related_problems(problem, pool)}  # one read of the pool, not one per row
    rows: list[dict[str, object]] = []
    for identity in sorted(set(recorded) | related):
        relation = recorded.get(identity)
        name = names.get(identity)
        rows.append(
            {
                "problem": name or identity.hex(),
                "identity": identity.hex(),
                "family_distance": family_distance(problem.name, name),
                "fitness_distance": relation.fitness_distance if relation else None,
                "fitness_measurements": relation.fitness_distance_count if relation else 0,
                "shared_sub_gcs": relation.shared if relation else None,
                "shared_measurements": relation.shared_count if relation else 0,
                "related": identity in related,
            }
        )
    return sorted(rows, key=lambda r: (not r["related"], str(r["problem"])))


__all__ = [
    "RELATED_DISTANCE",
    "RelatedProblem",
    "describe_relations",
    "family_distance",
    "family_parameters",
    "record_run_knowledge",
    "related_problems",
    "relation_closeness",
]
