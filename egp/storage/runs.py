"""Embedded runs in the Gene Pool: the recorder that writes a run's `runs` row and `run_history`, and reads.

`SQLRunRecorder` implements the engine's `RunRecorder` protocol. It inserts the run's row when the run starts
(status 'running'), buffers each island generation's figures and writes them at most about once a second
(and at the end), updating the row's best fitness and evaluations as it goes, so a dashboard sees a running
run move; at the end it writes the result and the final status.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, select, update

from egp.db import as_utc, get_engine
from egp.engine.config import EvolutionConfig, EvolutionResult, GenerationRecord
from egp.problems.base import Problem
from egp.storage.models import RunHistoryRow, RunRow

RUNS = cast(Table, RunRow.__table__)
RUN_HISTORY = cast(Table, RunHistoryRow.__table__)

# Seconds between writes of buffered generations: often enough for a live view, rarely enough to cost little.
FLUSH_INTERVAL_S = 1.0


def new_run_id() -> str:
    """A fresh run id (32 hex digits, like a job id)."""
    return uuid.uuid4().hex


def _jsonable(value: Any) -> Any:
    """A setting as JSON data (UUIDs as text)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class SQLRunRecorder:
    """Records one embedded run in the Gene Pool at `url` (schema at head)."""

    def __init__(self, url: str, run_id: str | None = None) -> None:
        """A recorder for a new run with id `run_id` (default: a fresh one)."""
        self.url = url
        self.engine: Engine = get_engine(url)
        self.run_id = run_id or new_run_id()
        self._pending: list[dict[str, Any]] = []
        self._started = time.perf_counter()
        self._last_flush = self._started
        self._last: tuple[float, int] | None = None
        self._best: float | None = None
        self._evaluations = 0
        self._generations = 0

    def started(self, problem: Problem, config: EvolutionConfig) -> None:
        """Insert the run's row, status 'running'."""
        now = datetime.now(UTC)
        settings = {k: _jsonable(v) for k, v in dataclasses.asdict(config).items()}
        self._started = self._last_flush = time.perf_counter()
        with self.engine.begin() as connection:
            connection.execute(
                RUNS.insert().values(
                    id=self.run_id,
                    problem=problem.name,
                    problem_identity=problem.identity,
                    config=settings,
                    status="running",
                    created=now,
                    updated=now,
                    evaluations=0,
                    generations=0,
                    seconds=0.0,
                )
            )

    def generation(self, record: GenerationRecord, figures: dict[str, Any]) -> None:
        """Buffer one island generation; write the buffer if a second has passed since the last write."""
        now = time.perf_counter()
        elapsed = now - self._started
        # Evaluations are the run's total (islands take turns), so the rate is since the previous record.
        since, before = self._last if self._last is not None else (self._started, 0)
        rate = (record.evaluations - before) / (now - since) if now > since else 0.0
        self._last = (now, record.evaluations)
        self._best = record.best if self._best is None else max(self._best, record.best)
        self._evaluations = record.evaluations
        self._generations = max(self._generations, record.generation)
        self._pending.append(
            {
                "run": self.run_id,
                "island": record.island,
                "generation": record.generation,
                "best": record.best,
                "mean": record.mean,
                "evaluations": record.evaluations,
                "seconds": elapsed,
                "evals_per_s": rate,
                "stillborn_rate": record.stillborn_rate,
                "distinct_members": record.distinct,
                "score_hit_rate": float(figures.get("score_hit_rate", 0.0)),
                "output_cache_hit_rate": float(figures.get("output_cache_hit_rate", 0.0)),
                "pgc_layers": figures.get("pgc_layers"),
            }
        )
        if now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self, final: dict[str, Any] | None = None) -> None:
        """Write the buffered generations and the row's figures so far (and `final` columns) in one
        transaction."""
        self._last_flush = time.perf_counter()
        values: dict[str, Any] = {
            "updated": datetime.now(UTC),
            "best_fitness": self._best,
            "evaluations": self._evaluations,
            "generations": self._generations,
            "seconds": self._last_flush - self._started,
        }
        values.update(final or {})
        with self.engine.begin() as connection:
            if self._pending:
                connection.execute(RUN_HISTORY.insert(), self._pending)
            connection.execute(update(RUNS).where(RUNS.c.id == self.run_id).values(**values))
        self._pending = []

    def finished(self, result: EvolutionResult | None, status: str, reason: str | None) -> None:
        """Write what is buffered and the run's end: its status, reason and (unless it failed) result."""
        final: dict[str, Any] = {"status": status, "reason": reason}
        if result is not None:
            final |= {
                "best_fitness": result.best_fitness,
                "best_signature": bytes.fromhex(result.best_signature),
                "solved": result.solved,
                "evaluations": result.evaluations,
                "generations": result.generations,
                "seconds": result.seconds,
                "summary": {k: v for k, v in result.summary().items() if k != "best_source"},
            }
        self.flush(final)


def run_dict(row: Any) -> dict[str, Any]:
    """A runs row as JSON-ready data."""
    return {
        "id": row.id,
        "kind": "run",
        "problem": row.problem,
        "status": row.status,
        "reason": row.reason,
        "created": as_utc(row.created).isoformat(),
        "updated": as_utc(row.updated).isoformat(),
        "best_fitness": row.best_fitness,
        "best_signature": bytes(row.best_signature).hex() if row.best_signature is not None else None,
        "solved": row.solved,
        "evaluations": int(row.evaluations),
        "generations": int(row.generations),
        "seconds": float(row.seconds),
        "config": row.config,
        "summary": row.summary,
    }


def list_runs(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` runs, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(RUNS).order_by(RUNS.c.created.desc()).limit(limit)).all()
    return [run_dict(row) for row in rows]


def get_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """The run `run_id`, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
    return None if row is None else run_dict(row)


def run_history(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """The run's island generations in the order they ran."""
    columns = [c for c in RUN_HISTORY.c if c.name != "run"]
    with engine.connect() as connection:
        rows = connection.execute(
            select(*columns)
            .where(RUN_HISTORY.c.run == run_id)
            .order_by(RUN_HISTORY.c.seconds, RUN_HISTORY.c.island, RUN_HISTORY.c.generation)
        ).all()
    return [dict(row._mapping) for row in rows]
