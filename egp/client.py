"""Submit and follow distributed evolution jobs from Python: `Client().submit("koza-quartic", seed=3)`.

The client writes the jobs row in the Gene Pool and sends `evolution.start` by name; everything it reports
afterwards (`status`, `wait`, `best`, `history`) is read from the jobs row and the Gene Pool, never from a
Celery result, so it works from any process and after any worker restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from egp.celery_config import Queue, make_app
from egp.config import Settings, display_url, env_name, get_settings
from egp.errors import EGPError, one_line
from egp.genetic_code.execution import Executor
from egp.jobs.spec import JobError, make_spec
from egp.jobs.store import JobInfo, JobStatus, JobStore
from egp.problems.base import Problem
from egp.storage.sql_pool import SQLGenePool, check_schema
from egp.task_names import START_TASK


class JobTimeoutError(JobError):
    """A wait ended before the job did (the job itself goes on)."""


def require_broker(settings: Settings) -> None:
    """Refuse to queue work when no broker is configured: nothing would ever run it."""
    if settings.embedded:
        raise JobError(
            f"no broker configured ({env_name('broker_url')} is unset): jobs need the distributed stack;"
            " to evolve in this process, run `egp evolve PROBLEM`"
        )


@dataclass(frozen=True)
class BestProgram:
    """The best GC a job found: its fitness, signature and Python source."""

    fitness: float
    signature: str
    source: str
    solved: bool


class Job:
    """A handle on a submitted job; every call reads the Gene Pool."""

    def __init__(self, client: Client, job_id: str) -> None:
        """The job `job_id` of `client`'s Gene Pool."""
        self.client = client
        self.id = job_id

    def __repr__(self) -> str:
        """The job id and status."""
        return f"Job({self.id!r}, status={self.status()!s})"

    def info(self) -> JobInfo:
        """The jobs row."""
        return self.client.store.get(self.id)

    def status(self) -> JobStatus:
        """queued, running, finished, failed or cancelled."""
        return self.info().status

    def progress(self) -> dict[str, Any]:
        """Evaluations, generation, best fitness and per-island figures."""
        progress: dict[str, Any] = self.info().as_dict()["progress"]
        return progress

    def wait(self, timeout: float | None = None, progress: bool = False, poll_s: float = 0.5) -> JobStatus:
        """Poll the jobs row until the job is final (JobTimeoutError at `timeout`); prints progress."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = None
        while True:
            info = self.info()
            if progress:
                line = _progress_line(info)
                if line != last:
                    print(line, flush=True)
                    last = line
            if info.status.final:
                return info.status
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeoutError(f"job {self.id} is still {info.status} after {timeout:g} s")
            time.sleep(poll_s)

    def best(self) -> BestProgram | None:
        """The best program found so far (None before any is scored)."""
        info = self.info()
        signature = info.progress.get("best_signature")
        if signature is None:
            return None
        pool = self.client.pool
        gcs = pool.closure([bytes.fromhex(signature)])
        store = {gc.signature: gc for gc in gcs}
        gc = store[bytes.fromhex(signature)]
        source = Executor(store).source(gc)
        return BestProgram(
            float(info.progress.get("best", 0.0)), signature, source, bool(info.progress.get("solved"))
        )

    def cancel(self) -> bool:
        """Ask the job to stop at its next generation; False if it had already ended."""
        return self.client.store.set_status(
            self.id, JobStatus.CANCELLED, only_from=(JobStatus.QUEUED, JobStatus.RUNNING)
        )

    def history(self) -> list[dict[str, Any]]:
        """One entry per recorded island epoch: island, epoch, generation, evaluations, best, mean."""
        return list(self.info().progress.get("history") or [])

    def resume(self) -> list[Any]:
        """Re-dispatch whatever the job needs next (after a crash); returns the (island, epoch) sent."""
        return self.client.resume(self.id)


def _progress_line(info: JobInfo) -> str:
    p = info.progress
    best = p.get("best")
    shown = f"{best:.6f}" if isinstance(best, float) else "-"
    return (
        f"{info.id[:12]} {info.status}: generation {p.get('generation', 0)}/{info.spec.generations}"
        f", best {shown}, evaluations {p.get('evaluations', 0)}"
    )


class Client:
    """Submits jobs to the worker pool and reads them back from the Gene Pool."""

    def __init__(self, settings: Settings | None = None) -> None:
        """A client for the configured Gene Pool and broker (EGP_GENE_POOL_URL, EGP_BROKER_URL)."""
        self.settings = settings or get_settings()
        url = self.settings.gene_pool_url
        try:
            check_schema(url)
        except EGPError:
            raise
        except Exception as error:  # an unreachable database is a one-line error, not a traceback
            # SQLAlchemy's own text adds a "Background on this error" line; the driver's error is the reason.
            reason = one_line(getattr(error, "orig", None) or error)
            raise JobError(f"the Gene Pool {display_url(url)} is unusable: {reason}") from None
        self.store = JobStore(url)
        self.pool = SQLGenePool(url)
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The Celery app used to send tasks by name (created on first use)."""
        if self._app is None:
            self._app = make_app("egp.client", Queue.EVOLUTION, self.settings)
        return self._app

    def submit(self, problem: str | Problem, **settings: Any) -> Job:
        """Validate the spec, write the jobs row (queued) and send `evolution.start`; returns the Job."""
        require_broker(self.settings)
        spec, chosen = make_spec(problem, self.settings, **settings)
        job_id = self.store.create(spec, chosen.identity)
        try:
            self.app.send_task(START_TASK, args=[job_id], retry=True)
        except Exception as error:
            self.store.delete(job_id)
            raise JobError(f"cannot queue job: broker {self.settings.celery_broker_url}: {error}") from None
        return Job(self, job_id)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job (an id or a unique prefix of one)."""
        return Job(self, self.store.find(job_id).id)

    def jobs(self, limit: int = 100) -> list[JobInfo]:
        """The newest jobs first."""
        return self.store.list(limit)

    def resume(self, job_id: str) -> list[Any]:
        """Send what a job needs next: its start task, or the next epoch of every unfinished island."""
        from egp.jobs.recovery import redispatch

        require_broker(self.settings)
        info = self.store.find(job_id)
        if info.status.final:
            return []
        return redispatch(
            self.store, info, lambda name, args: self.app.send_task(name, args=args, retry=True)
        )

    def close(self) -> None:
        """Release the broker connection."""
        if self._app is not None:
            self._app.close()
            self._app = None


__all__ = ["BestProgram", "Client", "Job", "JobTimeoutError", "require_broker"]
