"""The evolution worker's side of a job's steps: the failure policy, sending what is due, remote fitness.

`workers/app.py` declares the Celery tasks and calls these, so the tasks stay decorators plus calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from egp.config import FitnessMode, Settings
from egp.errors import one_line
from egp.jobs.epoch import StepResult
from egp.jobs.fanout import RemoteFitness
from egp.jobs.process import gene_pool
from egp.jobs.progress import fail_job, mark_dispatched
from egp.jobs.store import JobStore
from egp.task_names import EPOCH_TASK, FITNESS_TASK
from egp.worker_support import CONNECTION_ERRORS

logger = logging.getLogger(__name__)

# Sends a task by name with positional arguments (the app's send_task).
Send = Callable[[str, list[Any]], Any]


def run_step(settings: Settings, job_id: str, step: Callable[[], StepResult], send: Send) -> StepResult:
    """Run a job's `step`, then send the epochs it says are due, marking each sent.

    A step that fails for any reason but a lost connection fails its job with the reason (no stall); a lost
    connection is raised for the task to retry.
    """
    try:
        result = step()
    except CONNECTION_ERRORS:
        raise
    except Exception as error:
        logger.exception("job %s failed", job_id)
        fail_job(settings.gene_pool_url, job_id, f"{type(error).__name__}: {one_line(error)}")
        raise
    for island, epoch in result.dispatch:
        send(EPOCH_TASK, [job_id, island, epoch])
        mark_dispatched(settings.gene_pool_url, job_id, island, epoch)
    return result


def remote_fitness(
    settings: Settings, job_id: str, send: Send, starting: bool = False
) -> RemoteFitness | None:
    """The job's executor-pool scorer where it scores remotely (None where locally): in remote mode; in auto
    mode at the start (which measures and chooses) and afterwards if the start chose remote."""
    info = JobStore(settings.gene_pool_url).get(job_id)
    spec = info.spec
    if spec.fitness_mode == FitnessMode.AUTO and not starting:
        chosen = (info.progress.get("fitness") or {}).get("mode")
        if chosen != FitnessMode.REMOTE:
            return None
    elif spec.fitness_mode not in (FitnessMode.REMOTE, FitnessMode.AUTO):
        return None
    pool = gene_pool(settings.gene_pool_url)
    return RemoteFitness(settings, job_id, spec.problem, lambda args: send(FITNESS_TASK, args), pool)
