"""Celery app of the evolution worker pool: `celery -A workers.app worker -Q evolution`.

The tasks are thin: they call egp.jobs.epoch (start a job, run one island epoch) through
egp.jobs.worker_steps, which fails the job on any error but a lost connection and sends what is due next.
Fitness in remote mode goes to the executor pool by task name (`fitness.evaluate_batch`); this package never
imports executors/. Connection errors (Postgres, Redis) are retried with exponential backoff; every step is
idempotent, so a retry or a redelivery is harmless.
"""

import logging
import os
import threading
from typing import Any

from celery import Task
from celery.signals import worker_process_init, worker_ready

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.errors import one_line
from egp.health import process_report
from egp.jobs.epoch import run_epoch, start_job
from egp.jobs.process import reset_process_state
from egp.jobs.recovery import resume_idle_jobs
from egp.jobs.worker_steps import remote_fitness, run_step
from egp.task_names import EPOCH_TASK, START_TASK
from egp.worker_support import RETRY_ON_CONNECTION_ERRORS, check_registry_on_start

app = make_app("egp.workers", Queue.EVOLUTION)
logger = logging.getLogger(__name__)

check_registry_on_start(app, "evolution worker", dispatch_uid="egp.workers.registry")
worker_process_init.connect(
    lambda **_: reset_process_state(), weak=False, dispatch_uid="egp.workers.reset_process_state"
)


def worker_name(task: Task[Any, Any]) -> str:
    """Provenance of what this process makes: the Celery node name and the process id."""
    return f"{task.request.hostname or 'worker'}/{os.getpid()}"


def send(name: str, args: list[Any]) -> Any:
    """Send a task by name (fitness batches go to the executor pool this way: no import of executors/)."""
    return app.send_task(name, args=args)


def resume_on_ready(sender: Any = None, **_: object) -> None:
    """When this worker is ready, re-dispatch running jobs that nothing advances (lost while it was down).

    In a thread: the worker consumes meanwhile, and a Gene Pool that is not up yet only costs a warning.
    """
    if getattr(sender, "app", None) is not app:
        return

    def resume() -> None:
        """Re-dispatch idle jobs once; the watchdog covers what this misses."""
        try:
            # Every running job no process evolves now, however recently it advanced: a worker killed just
            # after an epoch leaves a job idle for less than any threshold when its replacement starts, and
            # a re-sent epoch that is in fact queued is a harmless duplicate (ledger and island lock).
            resumed = resume_idle_jobs(get_settings().gene_pool_url, send, idle_s=0.0)
            if resumed:
                logger.info("resumed on start: %s", resumed)
        except Exception as error:  # recovery is best effort here: the watchdog retries it
            logger.warning("jobs not resumed on start: %s", one_line(error))

    threading.Thread(target=resume, name="egp-resume-on-ready", daemon=True).start()


worker_ready.connect(resume_on_ready, weak=False, dispatch_uid="egp.workers.resume_on_ready")


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
    settings = get_settings()
    remote = remote_fitness(settings, job_id, send, starting=True)
    step = run_step(settings, job_id, lambda: start_job(settings, job_id, worker_name(self), remote), send)
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
            # Flower's pages show task events, not result meta: this event shows it there (state PROGRESS).
            self.send_event("task-progress", result=repr(meta | {"job": job_id}))
        except Exception as error:  # a result backend or broker outage must not cost the epoch
            logger.warning("progress not reported: %s", one_line(error))

    settings = get_settings()
    remote = remote_fitness(settings, job_id, send)
    name = worker_name(self)
    step = run_step(
        settings, job_id, lambda: run_epoch(settings, job_id, island, epoch, name, report, remote), send
    )
    progress = {k: step.progress.get(k) for k in ("generation", "best", "evaluations", "solved", "reason")}
    return {"job": job_id, "island": island, "epoch": epoch, "action": step.action, **progress}
