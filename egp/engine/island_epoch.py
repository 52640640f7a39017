"""One island epoch: the unit of evolution that embedded runs and distributed jobs share.

`run_island_epoch` evolves one island for up to an epoch's generations with the RNG seeded from
(seed, island, epoch) and writes the epoch's record to the Gene Pool in one `record_epoch`. In a job the
record also carries the island's state after the epoch (`IslandSnapshot`: members and their survivability,
stagnation count, budget spent, the pGC pools), and the next epoch — in any process — starts from exactly that
state plus the neighbouring island's previous-epoch emigrants (`restore_island`). So a job's result depends
on its seed and the Gene Pool it starts from, never on which worker ran which epoch when.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from egp.engine.blocks import BlockLibrary
from egp.engine.config import EvolutionError
from egp.engine.engine import Engine
from egp.engine.evaluation import Score
from egp.engine.gene_pool import EpochRecord, GenePool, PgcStats
from egp.engine.pgc_pool import LayerSnapshot
from egp.engine.population import Island, epoch_rng, take_migrants

GenerationCallback = Callable[[Island, int], None]


@dataclass
class IslandSnapshot:
    """An island's state at the end of a job's epoch: what its next epoch starts from, and its progress."""

    members: list[bytes]
    survivability: list[float]
    best: float
    stale: int
    generation: int
    evaluations: int
    best_signature: bytes | None
    best_fitness: float
    solved: bool
    best_codons: int
    mean: float
    pgcs: list[LayerSnapshot]
    # The pGCs that improved each member's lineage (the master selector's first category).
    effective: dict[bytes, tuple[bytes, ...]]
    # The job's building blocks and their weights, fixed when the job starts (initial snapshots only):
    # every epoch of every island draws from the same library, whatever the Gene Pool holds by then.
    blocks: list[tuple[bytes, float]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data (floats round-trip exactly through JSON text)."""
        return {
            "members": [s.hex() for s in self.members],
            "survivability": self.survivability,
            "best": self.best,
            "stale": self.stale,
            "generation": self.generation,
            "evaluations": self.evaluations,
            "best_signature": self.best_signature.hex() if self.best_signature is not None else None,
            "best_fitness": self.best_fitness,
            "solved": self.solved,
            "best_codons": self.best_codons,
            "mean": self.mean,
            "effective": {s.hex(): [p.hex() for p in chain] for s, chain in self.effective.items()},
            "blocks": None if self.blocks is None else [[s.hex(), w] for s, w in self.blocks],
            "pgcs": [
                [[_stats_json(s, v) for s, v in members], [_stats_json(s, v) for s, v in others]]
                for members, others in self.pgcs
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IslandSnapshot:
        """A snapshot from `to_json` data; ValueError naming what is malformed."""
        try:
            members = [bytes.fromhex(s) for s in data["members"]]
            survivability = [float(v) for v in data["survivability"]]
            if len(members) != len(survivability):
                raise ValueError("members and survivability differ in length")
            best_signature = data["best_signature"]
            pgcs: list[LayerSnapshot] = []
            for pooled, others in data["pgcs"]:
                pgcs.append(
                    (
                        [_stats_from(entry) for entry in pooled],
                        [(s, v) for s, v in (_stats_from(entry) for entry in others) if v is not None],
                    )
                )
            return cls(
                members=members,
                survivability=survivability,
                best=float(data["best"]),
                stale=int(data["stale"]),
                generation=int(data["generation"]),
                evaluations=int(data["evaluations"]),
                best_signature=bytes.fromhex(best_signature) if best_signature is not None else None,
                best_fitness=float(data["best_fitness"]),
                solved=bool(data["solved"]),
                best_codons=int(data["best_codons"]),
                mean=float(data["mean"]),
                pgcs=pgcs,
                effective={
                    bytes.fromhex(s): tuple(bytes.fromhex(p) for p in chain)
                    for s, chain in data["effective"].items()
                },
                blocks=None
                if data.get("blocks") is None
                else [(bytes.fromhex(s), float(w)) for s, w in data["blocks"]],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed island snapshot: {error!r}") from None


def _stats_json(signature: bytes, stats: PgcStats | None) -> list[Any]:
    """One pGC's entry in a snapshot: signature and statistics (None: no statistics yet)."""
    if stats is None:
        return [signature.hex()]
    return [
        signature.hex(),
        stats.fitness_total,
        stats.fitness_count,
        stats.evolvability_total,
        stats.evolvability_count,
    ]


def _stats_from(entry: list[Any]) -> tuple[bytes, PgcStats | None]:
    """The (signature, statistics) of one `_stats_json` entry."""
    signature = bytes.fromhex(entry[0])
    if len(entry) == 1:
        return signature, None
    values = (float(entry[1]), int(entry[2]), float(entry[3]), int(entry[4]))
    if not all(math.isfinite(v) for v in values):
        raise ValueError("a pGC statistic is not finite")
    return signature, PgcStats(*values)


def snapshot_island(engine: Engine, island: Island) -> IslandSnapshot:
    """The island's state and progress as a job's next epoch needs them."""
    best = engine.best_signature()
    score = engine.scores[best] if best is not None else Score(0.0, False)
    fitness = [engine.fitness(s) for s in island.members]
    return IslandSnapshot(
        members=list(island.members),
        survivability=[engine.survivability[s] for s in island.members],
        best=island.best,
        stale=island.stale,
        generation=island.generation,
        evaluations=island.evaluations,
        best_signature=best,
        best_fitness=score.fitness,
        solved=bool(score.solved),
        best_codons=engine.lookup(best).num_codons if best is not None else 0,
        mean=sum(fitness) / len(fitness) if fitness else 0.0,
        pgcs=engine.pgcs.snapshot(),
        effective={s: engine.effective[s] for s in island.members if s in engine.effective},
    )


def run_island_epoch(
    engine: Engine,
    island: Island,
    epoch: int,
    generations: int,
    *,
    record_initial: bool = False,
    halt: Callable[[], bool] | None = None,
    on_generation: GenerationCallback | None = None,
) -> IslandSnapshot | None:
    """Evolve `island` for up to `generations` generations of `epoch` and record the epoch; in a job, returns
    the island's snapshot recorded with it.

    It stops early when the run should stop (solved, target, evaluation budget) or, before any generation
    but the first, when `halt()` says so (a deadline, a cancel). `record_initial` also stores the island's
    members as they are now (an embedded run's initial population). In a job (`engine.job` set) the record
    carries the island's snapshot for the next epoch.
    """
    rng = epoch_rng(engine.config.seed, island.index, epoch)
    island.record = EpochRecord(
        problem=engine.problem_id,
        job=engine.job,
        island=island.index,
        epoch=epoch,
        problem_name=engine.problem.name,
    )
    if record_initial:
        engine.record_members(island)
    done = 0
    while done < generations:
        if done and halt is not None and halt():
            break
        engine.generation(island, rng)
        done += 1
        island.generation += 1
        island.evaluations += engine.generation_evaluations
        if on_generation is not None:
            on_generation(island, done)
        if engine.stop_now():
            break
    snapshot = snapshot_island(engine, island) if engine.job is not None else None
    if snapshot is not None:
        island.record.state = snapshot.to_json()
    engine.flush(island)
    return snapshot


def restore_island(
    engine: Engine,
    island: int,
    epoch: int,
    known_scores: Callable[[list[bytes]], Mapping[bytes, Score]] | None = None,
) -> Island:
    """Island `island` of the engine's job as its epoch `epoch` − 1 left it, ready to run `epoch`: members
    with their scores and survivability, stagnation and budget counts, the pGC pools, and (from epoch 1 on)
    the best few members of the neighbouring island's epoch `epoch` − 1 in place of its weakest.

    Scores come from `known_scores(signatures)` where given (the executors' results in remote mode), else
    from the engine's evaluator; EvolutionError if the Gene Pool lacks the state or a member.
    """
    job = engine.job
    pool = engine.pool
    config = engine.config
    if job is None:
        raise EvolutionError("only a job's islands can be restored")
    previous = _snapshot_at(pool, job, island, epoch - 1)
    emigrants: list[bytes] = []
    survivability = dict(zip(previous.members, previous.survivability, strict=True))
    if epoch > 0 and config.islands > 1 and config.migrants > 0:
        neighbour = _snapshot_at(pool, job, (island - 1) % config.islands, epoch - 1)
        emigrants = neighbour.members[: config.migrants]
        for signature, value in zip(emigrants, neighbour.survivability, strict=False):
            survivability.setdefault(signature, value)
    wanted = list(dict.fromkeys([*previous.members, *emigrants]))
    if not engine.load_closure(wanted):
        raise EvolutionError(f"job {job} island {island}: members are missing from the Gene Pool")
    known = known_scores(wanted) if known_scores is not None else None
    stored = pool.problem_stats(engine.problem_id, wanted) if known is not None else {}
    for signature in wanted:
        score = known.get(signature) if known is not None else None
        if score is None and known is not None:
            found = stored.get(signature)
            score = Score(found.fitness if found is not None else 0.0, False, None)
        if score is None:
            score = engine.evaluator.score(engine.lookup(signature))
        engine.scores[signature] = score
        engine.survivability[signature] = survivability[signature]
    engine.effective.update(previous.effective)
    engine.pgcs.restore(previous.pgcs)
    for layer, pooled in enumerate(engine.pgcs.pool):
        engine.pgcs.pool[layer] = [s for s in pooled if engine.load_closure([s])]
    engine.load_pgc_chains()
    state = Island(
        island,
        list(previous.members),
        best=previous.best,
        stale=previous.stale,
        generation=previous.generation,
        evaluations=previous.evaluations,
    )
    take_migrants(engine, state, emigrants)
    return state


def job_blocks(pool: GenePool, job: str, island: int) -> BlockLibrary:
    """The building blocks the job fixed when it started (from the island's initial snapshot)."""
    initial = _snapshot_at(pool, job, island, -1)
    if not initial.blocks:
        return BlockLibrary([])
    found = pool.get_many([s for s, _ in initial.blocks])
    if len(found) != len(initial.blocks):
        raise EvolutionError(f"job {job}: a building block of the job is missing from the Gene Pool")
    return BlockLibrary([(found[s], w) for s, w in initial.blocks])


def _snapshot_at(pool: GenePool, job: str, island: int, epoch: int) -> IslandSnapshot:
    """The island's latest recorded snapshot at or before `epoch`; EvolutionError if there is none."""
    found = pool.epoch_state(job, island, epoch)
    if found is None:
        raise EvolutionError(f"job {job} island {island}: no recorded state at or before epoch {epoch}")
    try:
        return IslandSnapshot.from_json(found)
    except ValueError as error:
        raise EvolutionError(f"job {job} island {island} epoch {epoch}: {error}") from None
