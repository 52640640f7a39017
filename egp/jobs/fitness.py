"""Remote fitness: executors score batches of GCs named by signature; workers fan out and count the results.

An executor never receives code. It reads each GC and its sub-GCs from the Gene Pool (rebuilt and signature-
checked from their graphs, codons only from the local trusted registry), evaluates it under a per-GC time
limit (the process runs under a memory limit, see executors/), and writes the whole batch's results with one
bulk `INSERT … ON CONFLICT DO NOTHING` into `fitness_results`, keyed by (problem, signature): evaluation is
deterministic, so a redelivered or duplicated batch writes nothing new. A GC that times out, raises or runs
out of memory scores 0 with the reason, and the batch goes on. A result carries all of the Score that the
engine's survivor selection reads, not only the fitness: the behaviour digest (one survivor per behaviour
first) and the per-case scores (niche survivability). Without them every remote GC looked alike to
selection, and islands filled with neutral variants of one program and stalled on a local optimum.

The barrier is a count in Postgres: the epoch waits until every GC it sent has a row (polling with a
deadline), re-sends batches whose results are missing, and after MAX_SENDS gives the still-missing GCs
fitness 0 itself, so a GC that kills its executor cannot loop the queue.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import psycopg
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError

from egp.config import Settings
from egp.engine.engine import Engine
from egp.engine.evaluation import CaseEvaluator, Score
from egp.engine.lineage import closure_for
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode
from egp.problems.base import Problem
from egp.problems.registry import get_problem
from egp.storage.models import FitnessResultRow
from egp.storage.sql_pool import SQLGenePool
from egp.task_names import FITNESS_TASK

logger = logging.getLogger(__name__)
# Errors of a lost database connection while loading a batch (retried by the task, never a score).
_LOST_CONNECTION = (OperationalError, InterfaceError, psycopg.OperationalError)

FITNESS_RESULTS = cast(Table, FitnessResultRow.__table__)
MAX_SENDS = 3  # a batch is sent at most this many times before its missing GCs score 0


class FitnessTimeout(BaseException):
    """Raised by the alarm when one GC's evaluation exceeds its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise FitnessTimeout in this (main) thread after `seconds`; a no-op where signals are unavailable."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise FitnessTimeout

    try:
        previous = signal.signal(signal.SIGALRM, expire)
    except ValueError:  # not the main thread: no per-GC limit here
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Per-case scores are stored as float64, little-endian, whatever the machine.
_CASES_DTYPE = np.dtype("<f8")


def encode_cases(cases: Any) -> bytes | None:
    """A Score's per-case scores as stored in fitness_results (None when the problem defines none)."""
    if cases is None:
        return None
    return np.asarray(cases, dtype=_CASES_DTYPE).tobytes()


def decode_cases(blob: bytes | None) -> npt.NDArray[np.float64] | None:
    """The per-case scores stored by `encode_cases`, as a (writable) float64 array."""
    if blob is None:
        return None
    return np.frombuffer(bytes(blob), dtype=_CASES_DTYPE).astype(np.float64)


def read_results(pool: SQLGenePool, problem: bytes, signatures: Sequence[bytes]) -> dict[bytes, Score]:
    """The stored executor scores among `signatures` on `problem` (with behaviour and per-case scores)."""
    found: dict[bytes, Score] = {}
    wanted = sorted(set(signatures))
    table = FITNESS_RESULTS
    columns = (
        table.c.signature,
        table.c.fitness,
        table.c.solved,
        table.c.reason,
        table.c.behaviour,
        table.c.cases,
    )
    with pool.engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = connection.execute(
                select(*columns).where(table.c.problem == problem, table.c.signature.in_(chunk))
            )
            for signature, fitness, solved, reason, behaviour, cases in rows:
                found[bytes(signature)] = Score(
                    float(fitness),
                    bool(solved),
                    reason,
                    bytes(behaviour) if behaviour is not None else b"",
                    decode_cases(cases),
                )
    return found


def write_results(
    pool: SQLGenePool, problem: bytes, scores: dict[bytes, Score], job: str | None, worker: str | None
) -> int:
    """Insert scores not stored yet, in one transaction; returns how many were new."""
    if not scores:
        return 0
    now = datetime.now(UTC)
    rows = [
        {
            "problem": problem,
            "signature": signature,
            "fitness": score.fitness,
            "solved": score.solved,
            "reason": score.reason[:1000] if score.reason else None,
            "job": job,
            "worker": worker[:255] if worker else None,
            "evaluated": now,
            "behaviour": score.behaviour or None,
            "cases": encode_cases(score.cases),
        }
        for signature, score in sorted(scores.items())
    ]
    insert = pg_insert if pool.postgres else sqlite_insert
    # executemany of one cached statement (SQLAlchemy batches it into multi-row INSERTs): a `.values(rows)`
    # statement would be compiled anew for every batch.
    statement = insert(FITNESS_RESULTS).on_conflict_do_nothing().returning(FITNESS_RESULTS.c.signature)
    with pool.transaction() as connection:
        return len(connection.execute(statement, rows).all())  # rowcount of an executemany is -1


@dataclass
class _ProblemRuntime:
    problem: Problem
    store: dict[bytes, GeneticCode]
    evaluator: CaseEvaluator


_runtimes: dict[str, _ProblemRuntime] = {}


def _runtime(name: str, settings: Settings) -> _ProblemRuntime:
    """A per-process evaluator for the problem (its sub-GC output cache survives between batches)."""
    runtime = _runtimes.get(name)
    if runtime is not None and len(runtime.store) > _STORE_LIMIT:
        runtime.store.clear()  # GCs are re-read from the Gene Pool as batches need them
    if runtime is None:
        problem = get_problem(name)
        store: dict[bytes, GeneticCode] = {}
        # The process runs under a memory limit (RLIMIT_AS): the output cache gets a quarter of it at most,
        # or a long job's cache would grow into a MemoryError on every batch.
        budget = min(settings.l2_cache_bytes, settings.executor_memory_limit_mb * 1024 * 1024 // 4)
        evaluator = CaseEvaluator(problem, Executor(store, settings.l1_cache_bytes), budget)
        runtime = _runtimes[name] = _ProblemRuntime(problem, store, evaluator)
    return runtime


_STORE_LIMIT = 50_000  # GCs kept per problem in an executor process between batches


def evaluate_batch(
    settings: Settings,
    pool: SQLGenePool,
    problem_name: str,
    job: str | None,
    signatures: Sequence[str],
    worker: str,
) -> dict[str, Any]:
    """Score the GCs named by hex `signatures` on the problem and store the results; the executor's work."""
    runtime = _runtime(problem_name, settings)
    problem_id = runtime.problem.identity
    wanted = [bytes.fromhex(s) for s in signatures]
    done = read_results(pool, problem_id, wanted)
    todo = [s for s in dict.fromkeys(wanted) if s not in done]
    scores: dict[bytes, Score] = {}
    try:
        gcs = pool.closure(todo)
    except _LOST_CONNECTION:
        # A dropped database connection says nothing about the GCs: the task retries it. Scoring them 0
        # would make the job's result depend on when a connection died.
        raise
    except Exception as error:  # a corrupt or unknown GC is rejected, never executed
        logger.warning("batch of %d GCs cannot be loaded: %s", len(todo), error)
        gcs = []
    for loaded in gcs:
        runtime.store.setdefault(loaded.signature, loaded)
    limit = settings.fitness_time_limit_s
    for signature in todo:
        gc = runtime.store.get(signature)
        if gc is None:
            scores[signature] = Score(0.0, False, "rejected: not in the Gene Pool or failed validation")
            continue
        try:
            with time_limit(limit):
                score = runtime.evaluator.score(gc)
        except FitnessTimeout:
            score = Score(0.0, False, f"timeout: evaluation took longer than {limit:g} s")
        except MemoryError:
            score = Score(0.0, False, f"MemoryError: over the {settings.executor_memory_limit_mb} MiB limit")
        if score.reason and (score.reason.startswith("MemoryError") or "timeout" in score.reason):
            # The sub-GC output cache may hold a half-built column; start it afresh.
            runtime.evaluator._reset()
        scores[signature] = score
    written = write_results(pool, problem_id, scores, job, worker)
    return {"problem": problem_name, "scored": len(scores), "written": written, "cached": len(done)}


def batches(signatures: Sequence[bytes], size: int) -> list[list[bytes]]:
    """Split into batches of at most `size`."""
    return [list(signatures[k : k + size]) for k in range(0, len(signatures), size)]


class RemoteFitness:
    """The worker side of remote fitness: store the GCs, send batches by task name, wait on the DB count."""

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

    def __call__(self, engine: Engine, gcs: list[GeneticCode], island: int, epoch: int) -> dict[bytes, Score]:
        """Scores of `gcs`, from stored results or computed by the executor pool."""
        pool = self.pool
        problem = engine.problem_id
        wanted = [gc.signature for gc in gcs]
        found = read_results(pool, problem, wanted)
        pending = [s for s in dict.fromkeys(wanted) if s not in found]
        if not pending:
            return found
        # Executors read GCs from the Gene Pool: store them first, with provenance. Offspring share most of
        # their sub-GCs with their parents, so only the nodes the Gene Pool lacks are written.
        new = closure_for([engine.lookup(s) for s in pending], engine.lookup, engine.in_gene_pool)
        with pool.transaction() as connection:
            pool.put(connection, new, self.job, island, epoch)
        engine.in_gene_pool.update(gc.signature for gc in new)
        size = self.settings.fitness_batch_size
        timeout = self.settings.fitness_batch_timeout_s
        for sends in range(1, MAX_SENDS + 1):
            for batch in batches(pending, size):
                self.send([self.problem_name, self.job, [s.hex() for s in batch]])
                self.batches_sent += 1
            # Wait while scores keep arriving; a batch silent for `timeout` seconds is sent again.
            deadline = time.monotonic() + timeout
            pause = 0.005
            while pending and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 1.5, 0.2)
                arrived = read_results(pool, problem, pending)
                if arrived:
                    found.update(arrived)
                    pending = [s for s in pending if s not in found]
                    deadline = time.monotonic() + timeout
            if not pending:
                return found
            logger.warning("%d GCs of job %s have no score after send %d", len(pending), self.job, sends)
        lost = {s: Score(0.0, False, f"no executor scored it after {MAX_SENDS} sends") for s in pending}
        write_results(pool, problem, lost, self.job, "worker")
        return found | lost


__all__ = [
    "FITNESS_TASK",
    "MAX_SENDS",
    "FitnessTimeout",
    "RemoteFitness",
    "decode_cases",
    "encode_cases",
    "evaluate_batch",
    "read_results",
    "time_limit",
    "write_results",
]
