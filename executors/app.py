"""Celery app of the fitness executor pool: `celery -A executors.app worker -Q fitness`.

Each pool process runs under a memory limit (RLIMIT_AS from EGP_EXECUTOR_MEMORY_LIMIT_MB, set when the process
starts) and scores each GC under a time limit (EGP_FITNESS_TIME_LIMIT_S): a runaway fitness function costs
that GC its fitness, never the executor. The work is in egp.jobs.fitness.
"""

import os
import resource
import time
from typing import Any

from celery import Task
from celery.signals import worker_process_init

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.health import process_report
from egp.jobs.fitness import evaluate_batch
from egp.jobs.process import gene_pool, reset_process_state
from egp.task_names import FITNESS_TASK
from egp.worker_support import RETRY_ON_CONNECTION_ERRORS, check_registry_on_start

app = make_app("egp.executors", Queue.FITNESS)


def limit_memory(**_: object) -> None:
    """Cap this pool process's address space, so a GC that allocates without bound gets a MemoryError."""
    reset_process_state()
    limit = get_settings().executor_memory_limit_mb * 1024 * 1024
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


check_registry_on_start(app, "fitness executor", dispatch_uid="egp.executors.registry")
worker_process_init.connect(limit_memory, weak=False, dispatch_uid="egp.executors.limit_memory")


@app.task(name=health_task_name(Queue.FITNESS), bind=True)
def health(self: Task[[], dict[str, Any]]) -> dict[str, Any]:
    """Report this fitness executor's process and whether it can reach the Gene Pool."""
    return process_report(Queue.FITNESS, self.request.hostname, get_settings().gene_pool_url)


@app.task(
    name=FITNESS_TASK,
    bind=True,
    **RETRY_ON_CONNECTION_ERRORS,
)
def evaluate_batch_task(
    self: Task[[str, str | None, list[str], str | None], dict[str, Any]],
    problem: str,
    job: str | None,
    signatures: list[str],
    identity: str | None = None,
) -> dict[str, Any]:
    """Score a batch of GCs (by signature) on `problem`, write the results in one statement and return them
    (the sender takes them from the result; `identity`: the problem identity it scores on, hex).

    Not reject_on_worker_lost: a GC that kills its process is not redelivered here; the epoch re-sends a
    batch a bounded number of times and then scores what is still missing as 0.
    """
    settings = get_settings()
    worker = f"{self.request.hostname or 'executor'}/{os.getpid()}"
    started = time.perf_counter()
    pool = gene_pool(settings.gene_pool_url)  # the first task of a process connects and checks the schema
    warming = time.perf_counter() - started
    result = evaluate_batch(settings, pool, problem, job, signatures, worker, identity)
    # A process's one-off start-up is not part of what a hop costs (fitness_mode=auto measures the hop).
    result["setup_s"] = round(float(result.get("setup_s", 0.0)) + warming, 4)
    return result
