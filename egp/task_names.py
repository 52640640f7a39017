"""Every Celery task name, in one place: `<queue>.<action>`, routed to `<queue>` by egp.celery_config.

Senders (the client, the watchdog, an epoch sending its next epoch or its fitness batches) and the apps that
register the tasks both import these, so a task cannot be renamed on one side only. This module imports
nothing, so domain code may use it without pulling in Celery.
"""

from __future__ import annotations

START_TASK = "evolution.start"
EPOCH_TASK = "evolution.epoch"
FITNESS_TASK = "fitness.evaluate_batch"
DBMANAGER_START_TASK = "dbmanager.start"
PROMOTE_TASK = "dbmanager.promote"
PULL_TASK = "dbmanager.pull"
ARCHIVE_TASK = "dbmanager.archive"
WATCHDOG_TASK = "dbmanager.watchdog"


def health_task_name(queue: str) -> str:
    """Return the name of the health task served on `queue`, e.g. `fitness.health`."""
    return f"{queue}.health"


#: The task names each pool registers, by queue name (health tasks included).
TASKS_BY_QUEUE: dict[str, frozenset[str]] = {
    "evolution": frozenset({START_TASK, EPOCH_TASK, health_task_name("evolution")}),
    "fitness": frozenset({FITNESS_TASK, health_task_name("fitness")}),
    "dbmanager": frozenset(
        {
            DBMANAGER_START_TASK,
            PROMOTE_TASK,
            PULL_TASK,
            ARCHIVE_TASK,
            WATCHDOG_TASK,
            health_task_name("dbmanager"),
        }
    ),
}
