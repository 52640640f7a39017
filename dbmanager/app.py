"""Celery app of the DB manager: `celery -A dbmanager.app worker -Q dbmanager -c 1` and `... beat`.

The DB manager owns one database (EGP_GENE_POOL_URL) and knows one upstream library (the first of
EGP_LIBRARY_URLS). Its tasks are thin: the work is in egp.storage.sync. Each periodic task takes a Postgres
advisory lock, so an overlapping or duplicated run is a no-op, and its beat entry expires after one interval,
so a backlog of ticks never piles up.
"""

import logging
from typing import Any

from celery import Task

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.health import process_report
from egp.jobs.recovery import redispatch_stalled
from egp.storage.sync import archive, prepare_database, promote, pull
from egp.task_names import (
    ARCHIVE_TASK,
    DBMANAGER_START_TASK,
    PROMOTE_TASK,
    PULL_TASK,
    WATCHDOG_TASK,
)
from egp.worker_support import check_on_start

app = make_app("egp.dbmanager", Queue.DBMANAGER)
logger = logging.getLogger(__name__)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The periodic DB-manager tasks, each expiring after its own interval."""
    settings = get_settings()
    entries: dict[str, dict[str, Any]] = {
        "archive": {"task": ARCHIVE_TASK, "schedule": settings.archive_interval_s},
        "watchdog": {"task": WATCHDOG_TASK, "schedule": settings.watchdog_interval_s},
    }
    if settings.library_urls:
        entries["promote"] = {"task": PROMOTE_TASK, "schedule": settings.sync_interval_s}
        entries["pull"] = {"task": PULL_TASK, "schedule": settings.sync_interval_s}
    for entry in entries.values():
        entry["options"] = {"expires": entry["schedule"]}
    return entries


app.conf.beat_schedule = beat_schedule()


def start() -> dict[str, Any]:
    """Bring the owned database to head (or refuse) and seed the shipped codons: the first thing it does."""
    return prepare_database(get_settings().gene_pool_url, get_settings())


def _log_start() -> None:
    """Prepare the database on the worker's start and log what that did."""
    logger.info("dbmanager start: %s", start())


check_on_start(app, "dbmanager", _log_start, dispatch_uid="egp.dbmanager.start")


@app.task(name=health_task_name(Queue.DBMANAGER), bind=True)
def health(self: Task[[], dict[str, Any]]) -> dict[str, Any]:
    """Report this DB manager's process and whether it can reach the Gene Pool it owns."""
    return process_report(Queue.DBMANAGER, self.request.hostname, get_settings().gene_pool_url)


@app.task(name=DBMANAGER_START_TASK)
def start_task() -> dict[str, Any]:
    """Bring the database to head and seed the shipped codons (idempotent)."""
    return start()


@app.task(name=PROMOTE_TASK)
def promote_task() -> dict[str, Any]:
    """Push GCs passing the promotion thresholds, with their closure and statistic deltas, upstream."""
    return promote(get_settings().gene_pool_url, get_settings()).as_dict()


@app.task(name=PULL_TASK)
def pull_task() -> dict[str, Any]:
    """Pull the upstream's best GCs for local problems, its codons and best pGCs, with their closure."""
    return pull(get_settings().gene_pool_url, get_settings()).as_dict()


@app.task(name=ARCHIVE_TASK)
def archive_task() -> dict[str, Any]:
    """Retire cold GCs to the archive table."""
    return archive(get_settings().gene_pool_url, get_settings())


@app.task(name=WATCHDOG_TASK)
def watchdog_task() -> list[dict[str, Any]]:
    """Re-dispatch running jobs whose epoch ledger has not advanced within their lease (and lost starts)."""
    return redispatch_stalled(get_settings().gene_pool_url, lambda name, args: app.send_task(name, args=args))
