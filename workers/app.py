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
from celery.signals import worker_init, worker_process_init
from kombu.exceptions import OperationalError as BrokerError
from psycopg import OperationalError as PsycopgOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import InterfaceError, OperationalError

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import FitnessMode, get_settings
from egp.errors import EGPError, one_line
from egp.health import process_report
from egp.jobs.compat import check_codon_registry
from egp.jobs.epoch import (
    StepResult,
    fail_job,
    gene_pool,
    mark_dispatched,
    reset_process_state,
    run_epoch,
    start_job,
)
from egp.jobs.fitness import FITNESS_TASK, RemoteFitness
from egp.jobs.store import JobStore

app = make_app("egp.workers", Queue.EVOLUTION)
logger = logging.getLogger(__name__)

EPOCH_TASK = "evolution.epoch"
START_TASK = "evolution.start"
# Errors of a lost connection: retried with backoff (1, 2, 4 … 60 s), never a user's mistake.
CONNECTION_ERRORS = (
    OperationalError,
    InterfaceError,
    PsycopgOperationalError,
    RedisConnectionError,
    BrokerError,
    ConnectionError,
)


def _check_registry(sender: Any = None, **_: object) -> None:
    """On start, refuse to run with codon files that differ from the Gene Pool's."""
    if getattr(sender, "app", None) is not app:
        return
    try:
        logger.info("codon registry %s matches the Gene Pool", check_codon_registry(get_settings())[:16])
    except EGPError as error:
        logger.error("evolution worker refuses to start: %s", error)
        raise SystemExit(f"evolution worker: {error}") from None
    except OperationalError as error:  # the database may come up later; the tasks retry
        logger.warning("cannot check the codon registry yet: %s", error)


worker_init.connect(_check_registry, weak=False, dispatch_uid="egp.workers.registry")
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
    autoretry_for=CONNECTION_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=20,
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
    autoretry_for=CONNECTION_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=20,
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
            # Flower's pages show task events, not result meta: this event shows it there (state PROGRESS).
            self.send_event("task-progress", result=repr(meta | {"job": job_id}))
        except Exception as error:  # a result backend or broker outage must not cost the epoch
            logger.warning("progress not reported: %s", one_line(error))

    with failing_job(job_id):
        step = run_epoch(get_settings(), job_id, island, epoch, worker_name(self), report, _remote(job_id))
    _dispatch(job_id, step)
    progress = {k: step.progress.get(k) for k in ("generation", "best", "evaluations", "solved", "reason")}
    return {"job": job_id, "island": island, "epoch": epoch, "action": step.action, **progress}
