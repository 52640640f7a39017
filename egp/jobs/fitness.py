"""Remote fitness, the executor's side: score batches of GCs named by signature, store and return the scores.

An executor never receives code. It reads each GC and its sub-GCs from the Gene Pool (rebuilt and signature-
checked from their graphs, codons only from the local trusted registry), evaluates it under a per-GC time
limit (the process runs under a memory limit, see executors/), and writes the whole batch's results with one
bulk `INSERT … ON CONFLICT DO NOTHING` into `fitness_results`, keyed by (problem, signature): evaluation is
deterministic, so a redelivered or duplicated batch writes nothing new. The same scores go back in the task's
result (`encode_scores`), so the worker need not read them back. The process keeps the GCs it rebuilt and its
output cache between batches, for as long as the problem's identity and the codon registry stay the same
(`_runtime`). A GC that times out, raises or runs
out of memory scores 0 with the reason, and the batch goes on. A result carries all of the Score that the
engine's survivor selection reads, not only the fitness: the behaviour digest (one survivor per behaviour
first) and the per-case scores (niche survivability). Without them every remote GC looked alike to
selection, and islands filled with neutral variants of one program and stalled on a local optimum.

The worker's side (sending sized batches, taking the scores back from the batches' results, re-sending what
is missing, and after MAX_SENDS scoring the still-missing GCs 0 itself, so a GC that kills its executor
cannot loop the queue) is in egp.jobs.fanout.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
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
from egp.engine.evaluation import CaseEvaluator, Score
from egp.genetic_code.codons import codon_registry
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


def registry_digest() -> str:
    """The hash of this process's codon registry (its codon files): compiled GCs and cached outputs are
    only valid under the registry they were made with."""
    return codon_registry().files_hash


@dataclass
class _ProblemRuntime:
    """What an executor process keeps for one problem between batches: the rebuilt (compiled) GCs and the
    CaseEvaluator with its sub-GC output cache, valid for exactly one (problem identity, registry)."""

    key: tuple[bytes, str]
    problem: Problem
    store: dict[bytes, GeneticCode]
    evaluator: CaseEvaluator


_runtimes: dict[str, _ProblemRuntime] = {}


def _runtime(name: str, settings: Settings) -> _ProblemRuntime:
    """A per-process evaluator for the problem, kept between batches while it stays valid.

    Everything kept is content-addressed (GCs by signature, outputs by sub-GC signature and input columns),
    so reuse is safe as long as the problem's data and the codons are those it was made with: the runtime is
    keyed by the problem's identity (its name, version and case data, hashed) and the codon registry's hash,
    and made afresh when either changes.
    """
    problem = get_problem(name)
    key = (problem.identity, registry_digest())
    runtime = _runtimes.get(name)
    if runtime is not None and runtime.key != key:
        logger.info("problem %s or the codon registry changed: executor caches dropped", name)
        runtime = None
    if runtime is not None and len(runtime.store) > _STORE_LIMIT:
        runtime.store.clear()  # GCs are re-read from the Gene Pool as batches need them
    if runtime is None:
        store: dict[bytes, GeneticCode] = {}
        # The process runs under a memory limit (RLIMIT_AS): the output cache gets a quarter of it at most,
        # or a long job's cache would grow into a MemoryError on every batch.
        budget = min(settings.l2_cache_bytes, settings.executor_memory_limit_mb * 1024 * 1024 // 4)
        evaluator = CaseEvaluator(problem, Executor(store, settings.l1_cache_bytes), budget)
        runtime = _runtimes[name] = _ProblemRuntime(key, problem, store, evaluator)
    return runtime


_STORE_LIMIT = 50_000  # GCs kept per problem in an executor process between batches


def _load(pool: SQLGenePool, store: dict[bytes, GeneticCode], signatures: Sequence[bytes]) -> None:
    """Read the GCs among `signatures` (and their sub-GCs) that `store` lacks from the Gene Pool.

    Two queries: the closure's signatures only (one recursive query), then the rows of those this process
    lacks. An offspring's closure is mostly its parent's, which this process has usually rebuilt and checked
    already, so a batch transfers and rebuilds its few new nodes instead of whole closures (and does not
    walk a deep closure one level per query). Every GC read is rebuilt from its graph and signature-checked
    by the Gene Pool (`get_many`).
    """
    registry = codon_registry()
    roots = [s for s in dict.fromkeys(signatures) if s not in store]
    if not roots:
        return
    rows = pool.closure_rows(roots, columns=("signature",))
    missing = [
        signature
        for signature in (bytes(row["signature"]) for row in rows)
        if signature not in store and registry.get(signature) is None
    ]
    store.update(pool.get_many(missing))


def _complete(store: dict[bytes, GeneticCode], gc: GeneticCode) -> bool:
    """Whether every sub-GC of `gc` is in `store` (or a codon)."""
    registry = codon_registry()
    stack = [gc]
    while stack:
        node = stack.pop()
        for sub in (node.gca, node.gcb):
            if sub is None or registry.get(sub) is not None:
                continue
            found = store.get(sub)
            if found is None:
                return False
            stack.append(found)
    return True


def evaluate_batch(
    settings: Settings,
    pool: SQLGenePool,
    problem_name: str,
    job: str | None,
    signatures: Sequence[str],
    worker: str,
    identity: str | None = None,
) -> dict[str, Any]:
    """Score the GCs named by hex `signatures` on the problem, store the results and return them in bulk.

    `identity`: the problem identity (hex) the sender scores on; a different one here (another problem
    version or case data) is refused with `error` rather than scored on the wrong problem.
    """
    clock = time.perf_counter
    began = clock()
    runtime = _runtime(problem_name, settings)
    setup = clock() - began  # the problem's cases and evaluator, built once per process: not the hop's
    problem_id = runtime.problem.identity
    if identity is not None and identity != problem_id.hex():
        return {
            "problem": problem_name,
            "error": f"executor {worker} has problem {problem_name!r} with identity {problem_id.hex()[:16]},"
            f" the job scores identity {identity[:16]}: deploy the same problem version everywhere",
        }
    wanted = [bytes.fromhex(s) for s in signatures]
    began = clock()
    # No read of stored results first: the worker sends only GCs without one, and a redelivered batch writes
    # nothing new (ON CONFLICT DO NOTHING); a query per batch costs more than a rare re-score.
    todo = list(dict.fromkeys(wanted))
    scores: dict[bytes, Score] = {}
    try:
        _load(pool, runtime.store, todo)
    except _LOST_CONNECTION:
        # A dropped database connection says nothing about the GCs: the task retries it. Scoring them 0
        # would make the job's result depend on when a connection died.
        raise
    except Exception as error:  # a corrupt or unknown GC is rejected, never executed
        logger.warning("batch of %d GCs cannot be loaded: %s", len(todo), error)
    limit = settings.fitness_time_limit_s
    started = clock()
    for signature in todo:
        gc = runtime.store.get(signature)
        if gc is None or not _complete(runtime.store, gc):
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
    seconds = clock() - started
    written = write_results(pool, problem_id, scores, job, worker)
    evaluator = runtime.evaluator
    return {
        # The output cache's state: sub-GC outputs computed so far in this process, and flushes.
        "misses": evaluator.misses,
        "flushes": evaluator.flushes,
        # Where the batch's time went (s): reading results and GCs before scoring, and writing after.
        "read_s": round(started - began, 4),
        "write_s": round(clock() - started - seconds, 4),
        "problem": problem_name,
        "scored": len(scores),
        "written": written,
        "setup_s": round(setup, 4),
        "seconds": seconds,
        "executor": worker,
        "scores": encode_scores(scores),
    }


def encode_scores(scores: Mapping[bytes, Score]) -> dict[str, list[Any]]:
    """Scores as a task result carries them (JSON): hex signature -> [fitness, solved, reason, behaviour
    (hex), per-case scores (base64 of little-endian float64, or None)]; floats round-trip exactly."""
    return {
        signature.hex(): [
            score.fitness,
            score.solved,
            score.reason[:1000] if score.reason else None,
            score.behaviour.hex(),
            None if score.cases is None else base64.b64encode(encode_cases(score.cases) or b"").decode(),
        ]
        for signature, score in scores.items()
    }


def decode_scores(payload: Mapping[str, Any]) -> dict[bytes, Score]:
    """The scores `encode_scores` wrote (exactly as read_results would read them from the table)."""
    found: dict[bytes, Score] = {}
    for signature, (fitness, solved, reason, behaviour, cases) in payload.items():
        found[bytes.fromhex(signature)] = Score(
            float(fitness),
            bool(solved),
            reason,
            bytes.fromhex(behaviour),
            None if cases is None else decode_cases(base64.b64decode(cases)),
        )
    return found


__all__ = [
    "FITNESS_TASK",
    "MAX_SENDS",
    "FitnessTimeout",
    "decode_cases",
    "decode_scores",
    "encode_cases",
    "encode_scores",
    "evaluate_batch",
    "read_results",
    "registry_digest",
    "time_limit",
    "write_results",
]
