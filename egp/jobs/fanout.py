"""Remote fitness, the worker's side: store the GCs, send sized batches, take the scores back in bulk.

A fan-out stores the GCs without a stored score in the Gene Pool (executors read GCs only from there, see
egp.jobs.fitness), sends them in batches sized from the measured costs of an evaluation and of a hop
(`CostModel`), and takes the scores from each batch's task result as it comes. A batch silent for
`fitness_batch_timeout_s` is looked up in `fitness_results` (the durable record) and what is still missing
is sent again; after MAX_SENDS sends the worker scores it 0 itself.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from egp.config import Settings
from egp.engine.engine import Engine
from egp.engine.evaluation import Score
from egp.engine.lineage import closure_for
from egp.genetic_code.gc import GeneticCode
from egp.jobs.fitness import MAX_SENDS, decode_scores, read_results, write_results
from egp.jobs.spec import JobError
from egp.storage.sql_pool import SQLGenePool

logger = logging.getLogger(__name__)


def batches(signatures: Sequence[bytes], size: int) -> list[list[bytes]]:
    """Split into batches of at most `size`."""
    return [list(signatures[k : k + size]) for k in range(0, len(signatures), size)]


# Batch sizing (RemoteFitness.batch_size): a batch's fixed cost (the hop) is at most this share of its
# scoring time, and a fan-out is split into at least this many batches per executor process (so the work
# spreads evenly) when the batches stay large enough for that.
HOP_SHARE = 0.2
BATCHES_PER_EXECUTOR = 2


@dataclass
class CostModel:
    """What one evaluation and one hop cost, measured from the batches that came back (moving averages)."""

    evaluation_s: float | None = None  # an executor's scoring time per GC
    hop_s: float | None = None  # a batch's round trip less its scoring time
    executors: set[str] = field(default_factory=set)  # the executor processes that answered

    def observe(self, result: Mapping[str, Any], round_trip: float | None) -> None:
        """Fold one batch's result (and its round trip, where it was timed alone) into the averages."""
        scored = int(result.get("scored", 0))
        seconds = float(result.get("seconds", 0.0))
        if result.get("executor"):
            self.executors.add(str(result["executor"]))
        if scored:
            per = seconds / scored
            self.evaluation_s = per if self.evaluation_s is None else 0.7 * self.evaluation_s + 0.3 * per
        if round_trip is not None:
            hop = max(round_trip - seconds - float(result.get("setup_s", 0.0)), 0.0)
            self.hop_s = hop if self.hop_s is None else 0.7 * self.hop_s + 0.3 * hop


# Each process's cost model per job: an epoch task's fan-outs size their batches from what the job's earlier
# epochs in this process measured, not from the default again.
_COSTS: dict[str, CostModel] = {}
_COSTS_KEPT = 1000


def job_costs(job: str) -> CostModel:
    """This process's measured costs for `job` (a new model for a job it has not scored for)."""
    if job not in _COSTS and len(_COSTS) >= _COSTS_KEPT:
        _COSTS.clear()  # long-lived workers: forget old jobs' figures now and then
    return _COSTS.setdefault(job, CostModel())


@dataclass
class _Batch:
    """One batch sent: its GCs, what `send` returned (a Celery AsyncResult, or the result itself when the
    executor ran synchronously) and when it was sent."""

    signatures: list[bytes]
    handle: Any
    sent: float
    taken: bool = False  # its result is in already


@dataclass
class Fanout:
    """One engine's GCs out with the executor pool: the scores known, the GCs still missing, the batches."""

    problem: bytes
    found: dict[bytes, Score]
    pending: list[bytes]
    out: list[_Batch] = field(default_factory=list)
    sends: int = 0


class RemoteFitness:
    """The worker side of remote fitness: store the GCs, send sized batches by task name, and take the
    scores back in bulk from the batches' results (the table is the fallback and the durable record)."""

    def __init__(
        self,
        settings: Settings,
        job: str,
        problem_name: str,
        send: Callable[[list[Any]], Any],
        pool: SQLGenePool | None = None,
    ) -> None:
        """Fan out for `job` through `send(args)` (which sends `fitness.evaluate_batch`)."""
        self.settings = settings
        self.job = job
        self.problem_name = problem_name
        self.send = send
        self.pool = pool or SQLGenePool(settings.gene_pool_url)
        self.batches_sent = 0
        self.cost = job_costs(job)

    def __call__(self, engine: Engine, gcs: list[GeneticCode], island: int, epoch: int) -> dict[bytes, Score]:
        """Scores of `gcs`, from stored results or computed by the executor pool."""
        return self.collect(self.submit(engine, gcs, island, epoch))

    def batch_size(self, count: int) -> int:
        """GCs per batch for a fan-out of `count`: from the measured evaluation and hop costs, large enough
        that the hop is at most HOP_SHARE of a batch's work, small enough to spread over the executors;
        never above `fitness_batch_size` (the setting, used as is until costs are measured)."""
        largest = self.settings.fitness_batch_size
        evaluation, hop = self.cost.evaluation_s, self.cost.hop_s
        if evaluation is None or hop is None or evaluation <= 0.0:
            return largest
        amortised = math.ceil(hop / (HOP_SHARE * evaluation))
        spread = math.ceil(count / (BATCHES_PER_EXECUTOR * max(1, len(self.cost.executors))))
        return max(1, min(largest, max(amortised, spread)))

    def submit(self, engine: Engine, gcs: list[GeneticCode], island: int, epoch: int) -> Fanout:
        """Store the GCs without a stored score and send them in batches; `collect` waits for the scores.

        Several fan-outs may be out at once (e.g. every island's initial population)."""
        fanout = self.store(engine, gcs, island, epoch)
        self.dispatch(fanout)
        return fanout

    def store(self, engine: Engine, gcs: list[GeneticCode], island: int, epoch: int) -> Fanout:
        """A fan-out of `gcs` not sent yet: the stored scores read, the GCs without one stored in the
        Gene Pool for the executors to read (`dispatch` sends them)."""
        pool = self.pool
        problem = engine.problem_id
        wanted = [gc.signature for gc in gcs]
        found = read_results(pool, problem, wanted)
        fanout = Fanout(problem, found, [s for s in dict.fromkeys(wanted) if s not in found])
        if not fanout.pending:
            return fanout
        # Executors read GCs from the Gene Pool: store them first, with provenance. Offspring share most of
        # their sub-GCs with their parents, so only the nodes the Gene Pool lacks are written.
        new = closure_for([engine.lookup(s) for s in fanout.pending], engine.lookup, engine.in_gene_pool)
        with pool.transaction() as connection:
            pool.put(connection, new, self.job, island, epoch)
        engine.in_gene_pool.update(gc.signature for gc in new)
        return fanout

    def dispatch(self, fanout: Fanout) -> None:
        """Send the fan-out's GCs without a score in batches sized by `batch_size`."""
        if fanout.pending and not fanout.out:
            self._send(fanout, fanout.pending)

    def answered(self, fanout: Fanout, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the first batch of a dispatched fan-out; True if it came back
        (its scores are taken and its round trip measured)."""
        if not fanout.out:
            return False
        batch = fanout.out[0]
        result = _result(batch.handle, timeout)
        if result is None:
            return False
        if result.get("error"):
            raise JobError(str(result["error"]))
        self.cost.observe(result, time.monotonic() - batch.sent)
        fanout.found.update(decode_scores(result.get("scores") or {}))
        batch.taken = True
        fanout.pending = [s for s in fanout.pending if s not in fanout.found]
        return True

    def _send(self, fanout: Fanout, signatures: list[bytes]) -> None:
        fanout.sends += 1
        identity = fanout.problem.hex()
        for batch in batches(signatures, self.batch_size(len(signatures))):
            handle = self.send([self.problem_name, self.job, [s.hex() for s in batch], identity])
            fanout.out.append(_Batch(batch, handle, time.monotonic()))
            self.batches_sent += 1

    def collect(self, fanout: Fanout) -> dict[bytes, Score]:
        """Wait for the fan-out's scores; re-send what is missing after a silence of
        `fitness_batch_timeout_s`, and after MAX_SENDS score what is still missing 0."""
        found = fanout.found
        while fanout.pending:
            self._wait(fanout)
            if not fanout.pending:
                break
            logger.warning(
                "%d GCs of job %s have no score after send %d", len(fanout.pending), self.job, fanout.sends
            )
            if fanout.sends >= MAX_SENDS:
                reason = f"no executor scored it after {MAX_SENDS} sends"
                lost = {s: Score(0.0, False, reason) for s in fanout.pending}
                write_results(self.pool, fanout.problem, lost, self.job, "worker")
                found.update(lost)
                fanout.pending = []
                break
            fanout.out = []
            self._send(fanout, fanout.pending)
        return found

    def _wait(self, fanout: Fanout) -> None:
        """Take the batches' results as they come; return when none is missing or nothing came for
        `fitness_batch_timeout_s` (then what the table holds is taken too)."""
        timeout = self.settings.fitness_batch_timeout_s
        deadline = time.monotonic() + timeout
        first = True
        for batch in fanout.out:
            if batch.taken:
                continue
            result = _result(batch.handle, max(deadline - time.monotonic(), 0.0))
            if result is None:
                break  # silent past the deadline (or failed): the table and a re-send take over
            if result.get("error"):
                raise JobError(str(result["error"]))
            # Only the first batch's round trip is its own; later ones may have waited for us.
            self.cost.observe(result, time.monotonic() - batch.sent if first else None)
            first = False
            batch.taken = True
            arrived = decode_scores(result.get("scores") or {})
            fanout.found.update(arrived)
            deadline = time.monotonic() + timeout
        fanout.pending = [s for s in fanout.pending if s not in fanout.found]
        if fanout.pending:
            fanout.found.update(read_results(self.pool, fanout.problem, fanout.pending))
            fanout.pending = [s for s in fanout.pending if s not in fanout.found]


def _result(handle: Any, timeout: float) -> Mapping[str, Any] | None:
    """A batch's result: the mapping itself (a synchronous executor), or a Celery result waited for up to
    `timeout` seconds (None if it did not come or the task failed)."""
    if isinstance(handle, Mapping):
        return handle
    get = getattr(handle, "get", None)
    if get is None:
        return None
    try:
        # Waiting on a sub-task from inside a task is what remote fitness is: the epoch task has nothing
        # else to do until the scores are back.
        value = get(timeout=max(timeout, 0.001), disable_sync_subtasks=False, propagate=True)
    except Exception as error:  # a timeout, or the batch's task failed: the caller re-sends
        logger.debug("fitness batch result not taken: %s", error)
        return None
    return value if isinstance(value, Mapping) else None


__all__ = [
    "BATCHES_PER_EXECUTOR",
    "HOP_SHARE",
    "CostModel",
    "Fanout",
    "RemoteFitness",
    "batches",
    "job_costs",
]
