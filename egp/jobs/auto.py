"""fitness_mode=auto: a starting job measures what one evaluation costs and what a hop to the executor pool
costs, and scores where it pays.

Measured on the first island's new initial members, after every island's population is drawn:

- the evaluation: each of up to AUTO_SAMPLE members scored in this process on a fresh evaluator (the median);
- the hop, per GC: the worker's own share (storing the GCs for the executors, timed) plus the first batch's
  round trip less the executor's scoring time, over its GCs.

Remote pays when one evaluation costs at least REMOTE_MARGIN hops: with P executor processes a GC then costs
the worker about a hop plus E/P of waiting, against E in this process. When the evaluation is cheaper than
REMOTE_MARGIN times the worker's own share alone, no executor is asked at all (a cheap problem starts
without waiting on the pool, and with no executor running); when no executor answers within
`fitness_probe_timeout_s`, the job scores locally. The choice and its two figures go into the job's progress
(`progress["fitness"]`). Scores are the same either way (egp.jobs.remote), so the choice changes how fast a
job runs, never its result.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egp.config import FitnessMode
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator
from egp.genetic_code.codon_runtime import quiet_numpy
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.jobs.fanout import Fanout, RemoteFitness

#: Members scored in this process to measure one evaluation.
AUTO_SAMPLE = 16
#: Remote when one evaluation costs at least this many hops (per GC).
REMOTE_MARGIN = 2.0


@dataclass(frozen=True)
class FitnessChoice:
    """Where a job scores, and why: the measured cost of one evaluation and of one hop per GC (seconds)."""

    mode: FitnessMode
    reason: str
    evaluation_s: float | None = None
    hop_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The choice as the job's progress records it (milliseconds, rounded to µs)."""
        return {
            "mode": str(self.mode),
            "reason": self.reason,
            "evaluation_ms": None if self.evaluation_s is None else round(self.evaluation_s * 1000, 3),
            "hop_ms": None if self.hop_s is None else round(self.hop_s * 1000, 3),
        }


def evaluation_cost(engine: Engine, gcs: Sequence[GeneticCode]) -> float:
    """The median time to score one of `gcs` (up to AUTO_SAMPLE) on a fresh evaluator in this process."""
    evaluator = CaseEvaluator(engine.problem, Executor(engine.store))
    times = []
    with quiet_numpy():
        evaluator.numpy_quiet = True
        for gc in gcs[:AUTO_SAMPLE]:
            started = time.perf_counter()
            evaluator.score(gc)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def choose(
    remote: RemoteFitness, engine: Engine, pending: list[GeneticCode], island: int, probe_timeout: float
) -> tuple[FitnessChoice, Fanout | None]:
    """Measure and choose on `engine`'s `pending` members (island `island`'s initial population); returns
    the choice and the fan-out of `pending` if it was sent (to be collected: its scores are good either way).
    """
    if not pending:
        return FitnessChoice(FitnessMode.LOCAL, "no new GC to measure an evaluation on"), None
    evaluation = evaluation_cost(engine, pending)
    started = time.perf_counter()
    fanout = remote.store(engine, pending, island, -1)
    stored = len(fanout.pending)
    if not stored:
        return FitnessChoice(FitnessMode.LOCAL, "every GC already has a stored score", evaluation), fanout
    own = (time.perf_counter() - started) / stored
    if evaluation < REMOTE_MARGIN * own:
        reason = (
            f"one evaluation ({_ms(evaluation)}) costs less than {REMOTE_MARGIN:g}x the worker's own share"
            f" of a hop ({_ms(own)} per GC); executors not asked"
        )
        return FitnessChoice(FitnessMode.LOCAL, reason, evaluation, own), None
    remote.dispatch(fanout)
    if not remote.answered(fanout, probe_timeout):
        # Not collected: with no executor its batches would only time out. Should one come up later, the
        # scores it writes are the ones this process computes.
        reason = f"no executor answered within {probe_timeout:g} s (one evaluation {_ms(evaluation)})"
        return FitnessChoice(FitnessMode.LOCAL, reason, evaluation), None
    first = len(fanout.out[0].signatures)
    hop = own + (remote.cost.hop_s or 0.0) / max(1, first)
    if evaluation >= REMOTE_MARGIN * hop:
        reason = (
            f"one evaluation ({_ms(evaluation)}) costs at least {REMOTE_MARGIN:g}x a hop ({_ms(hop)} per GC)"
        )
        return FitnessChoice(FitnessMode.REMOTE, reason, evaluation, hop), fanout
    reason = (
        f"one evaluation ({_ms(evaluation)}) costs less than {REMOTE_MARGIN:g}x a hop ({_ms(hop)} per GC)"
    )
    return FitnessChoice(FitnessMode.LOCAL, reason, evaluation, hop), fanout


__all__ = ["AUTO_SAMPLE", "REMOTE_MARGIN", "FitnessChoice", "choose", "evaluation_cost"]
