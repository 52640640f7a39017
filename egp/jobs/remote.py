"""Scores from the executor pool standing in for the engine's evaluator (remote fitness mode).

The engine hands each generation over whole (`batched`), and `prefetch` has the executors score its new
offspring in one fan-out (egp.jobs.fanout.RemoteFitness); `score` then answers from what came back.

A job's initial populations are made in two steps, as in local mode all from the Gene Pool as it was before
the job: every island's members first (scores deferred), then one fan-out for all of them. Fanning out an
island's members before the next island was drawn stored them in the Gene Pool first, where the next
island's UNRELATED source found them: its population, and from then on the whole job, differed from the same
job with local fitness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from egp.engine.breeding import Offspring
from egp.engine.engine import Engine
from egp.engine.evaluation import Score
from egp.genetic_code.gc import GeneticCode
from egp.jobs.fanout import Fanout
from egp.jobs.spec import JobError


class RemoteScorer(Protocol):
    """Scores GCs for (island, epoch) through the executor pool (egp.jobs.fanout.RemoteFitness)."""

    def __call__(self, engine: Engine, gcs: list[GeneticCode], island: int, epoch: int) -> dict[bytes, Score]:
        """Scores of `gcs`, in one fan-out."""

    def submit(self, engine: Engine, gcs: list[GeneticCode], island: int, epoch: int) -> Fanout:
        """Send `gcs` out without waiting."""

    def collect(self, fanout: Fanout) -> dict[bytes, Score]:
        """Wait for a submitted fan-out's scores."""

    def batch_size(self, count: int) -> int:
        """GCs per batch for a fan-out of `count`."""


class PrefetchedEvaluator:
    """Stands in for the CaseEvaluator in remote mode: answers from scores the executors produced."""

    #: The engine hands over each generation whole, for `prefetch` to score in one executor fan-out.
    batched = True

    def __init__(
        self,
        fetch: Callable[[list[GeneticCode]], dict[bytes, Score]],
        submit: Callable[[list[GeneticCode]], Fanout] | None = None,
        collect: Callable[[Fanout], dict[bytes, Score]] | None = None,
        chunk: int = 0,
    ) -> None:
        """An evaluator whose scores come from `fetch(gcs)`, one executor fan-out per call; with `submit`
        and `collect` (and `chunk` > 0) it can also `stream` a generation out in chunks of `chunk`."""
        self.fetch = fetch
        self.submit = submit
        self.collect = collect
        self.chunk = chunk
        self.ready: dict[bytes, Score] = {}
        self.deferred = False
        self.placeholder: set[bytes] = set()
        self.hit_rate = 0.0

    def prefetch(self, gcs: Sequence[GeneticCode]) -> None:
        """Have the executor pool score those of `gcs` without a score yet, in one fan-out."""
        missing = {gc.signature: gc for gc in gcs if gc.signature not in self.ready}
        if missing:
            self.ready.update(self.fetch(list(missing.values())))

    def stream(
        self, bred: Iterable[Offspring], unscored: Callable[[Sequence[Offspring]], list[GeneticCode]]
    ) -> list[Offspring]:
        """Breed the generation, sending each chunk of new offspring to the executors as soon as it is
        bred, so they score while the worker breeds the rest; returns the offspring once all are scored.

        Breeding reads nothing a score changes (egp.engine.breeding), so the offspring and their scores are
        those of `prefetch` on the whole generation.
        """
        submit, collect = self.submit, self.collect
        if submit is None or collect is None or self.chunk <= 0:
            whole = list(bred)
            self.prefetch(unscored(whole))
            return whole
        offspring: list[Offspring] = []
        fanouts: list[Fanout] = []
        sent: set[bytes] = set(self.ready)
        start = 0
        for child in bred:
            offspring.append(child)
            if len(offspring) - start >= self.chunk:
                new = [gc for gc in unscored(offspring[start:]) if gc.signature not in sent]
                sent.update(gc.signature for gc in new)
                if new:
                    fanouts.append(submit(new))
                start = len(offspring)
        new = [gc for gc in unscored(offspring[start:]) if gc.signature not in sent]
        if new:
            fanouts.append(submit(new))
        for fanout in fanouts:
            self.ready.update(collect(fanout))
        return offspring

    def score(self, gc: GeneticCode) -> Score:
        """The executor's score of `gc`; while deferred, a placeholder to be replaced after the fan-out."""
        found = self.ready.get(gc.signature)
        if found is not None:
            return found
        if self.deferred:
            self.placeholder.add(gc.signature)
            return Score(0.0, False, "pending")
        raise JobError(f"GC {gc.signature.hex()} has no remote score")


def use_remote(engine: Engine, remote: RemoteScorer, island: int, epoch: int) -> PrefetchedEvaluator:
    """Make `engine` score through the executor pool, fanned out for (island, epoch); a generation goes out
    in chunks of the scorer's batch size while it is bred."""
    evaluator = PrefetchedEvaluator(
        lambda gcs: remote(engine, gcs, island, epoch),
        lambda gcs: remote.submit(engine, gcs, island, epoch),
        remote.collect,
        remote.batch_size(engine.config.population),
    )
    engine.evaluator = evaluator  # type: ignore[assignment]
    return evaluator


def deferred_initial_population(engine: Engine, island: int) -> tuple[list[bytes], list[GeneticCode]]:
    """`initial_population` with scoring deferred: the members, and those of them still to be scored (by
    `apply_scores`, once the executor pool has scored them). Nothing is written to the Gene Pool."""
    evaluator = engine.evaluator
    assert isinstance(evaluator, PrefetchedEvaluator)
    evaluator.deferred = True
    try:
        members = engine.initial_population(island)
    finally:
        evaluator.deferred = False
    return members, [engine.lookup(s) for s in members if s in evaluator.placeholder]


def apply_scores(engine: Engine, pending: Sequence[GeneticCode], scores: dict[bytes, Score]) -> None:
    """Put the executor pool's scores of deferred members where `initial_population` would have put them."""
    evaluator = engine.evaluator
    assert isinstance(evaluator, PrefetchedEvaluator)
    for gc in pending:
        score = scores[gc.signature]
        evaluator.ready[gc.signature] = score
        engine.scores[gc.signature] = score
        engine.survivability[gc.signature] = score.fitness
        evaluator.placeholder.discard(gc.signature)
        if score.solved and engine.solved_by is None:
            engine.solved_by = gc
