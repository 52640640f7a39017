"""Celery app of the evolution worker pool: `celery -A workers.app worker -Q evolution`.

The tasks are thin: they call egp.jobs.epoch (start a job, run one island epoch) and send what it says comes
next. Fitness in remote mode goes to the executor pool by task name (`fitness.evaluate_batch`); this package
never imports executors/. Connection errors (Postgres, Redis) are retried with exponential backoff; every
step is idempotent, so a retry or a redelivery is harmless.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task
from celery.signals import worker_process_init

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import FitnessMode, get_settings
from egp.errors import one_line
from egp.health import process_report
from egp.jobs.epoch import StepResult, run_epoch, start_job
from egp.jobs.fitness import RemoteFitness
from egp.jobs.process import gene_pool, reset_process_state
from egp.jobs.progress import fail_job, mark_dispatched
from egp.jobs.store import JobStore
from egp.task_names import EPOCH_TASK, FITNESS_TASK, START_TASK
from egp.worker_support import CONNECTION_ERRORS, RETRY_ON_CONNECTION_ERRORS, check_registry_on_start

app = make_app("egp.workers", Queue.EVOLUTION)
logger = logging.getLogger(__name__)

check_registry_on_start(app, "evolution worker", dispatch_uid="egp.workers.registry")
worker_process_init.connect(
    lambda **_: reset_process_state(), weak=False, dispatch_uid="egp.workers.reset_process_state"
)


def worker_name(task: Task[Any, Any]) -> str:
    """Provenance of what this process makes: the Celery node name and the process id."""
    return f"{task.request.hostname or 'worker'}/{os.getpid()}"


@contextmanager
def failing_job(job_id: str) -> Iterator[None]:
    """A step that fails for any reason but a lost connection fails its job with the reason (no stall)."""
    try:
        yield
    except CONNECTION_ERRORS:
        raise
    except Exception as error:
        logger.exception("job %s failed", job_id)
        fail_job(get_settings().gene_pool_url, job_id, f"{type(error).__name__}: {one_line(error)}")
        raise


def _dispatch(job_id: str, step: StepResult) -> None:
    for island, epoch in step.dispatch:
        app.send_task(EPOCH_TASK, args=[job_id, island, epoch])
        mark_dispatched(get_settings().gene_pool_url, job_id, island, epoch)


def _remote(job_id: str) -> RemoteFitness | None:
    settings = get_settings()
    spec = JobStore(settings.gene_pool_url).get(job_id).spec
    if spec.fitness_mode != FitnessMode.REMOTE:
        return None
    pool = gene_pool(settings.gene_pool_url)
    return RemoteFitness(
        settings, job_id, spec.problem, lambda args: app.send_task(FITNESS_TASK, args=args), pool
    )


@app.task(name=health_task_name(Queue.EVOLUTION), bind=True)
def health(self: Task[[], dict[str, Any]]) -> dict[str, Any]:
    """Report this evolution worker's process and whether it can reach the Gene Pool."""
    return process_report(Queue.EVOLUTION, self.request.hostname, get_settings().gene_pool_url)


@app.task(
    name=START_TASK,
    bind=True,
    **RETRY_ON_CONNECTION_ERRORS,
)
def start(self: Task[[str], dict[str, Any]], job_id: str) -> dict[str, Any]:
    """Build and record each island's initial population, then send epoch 0 of every island."""
    with failing_job(job_id):
        step = start_job(get_settings(), job_id, worker_name(self), _remote(job_id))
    _dispatch(job_id, step)
    return {"job": job_id, "action": step.action, "dispatched": step.dispatch}


@app.task(
    name=EPOCH_TASK,
    bind=True,
    reject_on_worker_lost=True,
    **RETRY_ON_CONNECTION_ERRORS,
)
def epoch(
    self: Task[[str, int, int], dict[str, Any]], job_id: str, island: int, epoch: int
) -> dict[str, Any]:
    """Evolve one island for one epoch (recorded with its ledger row), then send the next epoch or finish.

    A killed worker's epoch is redelivered (reject_on_worker_lost); a poison epoch is bounded by
    MAX_EPOCH_ATTEMPTS in egp.jobs.epoch, so it cannot loop.
    """

    def report(meta: dict[str, Any]) -> None:
        """Progress for Flower; best effort, the jobs row is the record."""
        if not self.request.id:
            return
        try:
            self.update_state(state="PROGRESS", meta=meta | {"job": job_id})
        except Exception as error:  # a result backend outage must not cost the epoch
            logger.warning("progress not reported: %s", one_line(error))

    with failing_job(job_id):
        step = run_epoch(get_settings(), job_id, island, epoch, worker_name(self), report, _remote(job_id))
    _dispatch(job_id, step)
    progress = {k: step.progress.get(k) for k in ("generation", "best", "evaluations", "solved", "reason")}
    return {"job": job_id, "island": island, "epoch": epoch, "action": step.action, **progress}
