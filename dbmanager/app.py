"""Celery app of the DB manager: `celery -A dbmanager.app worker -Q dbmanager -c 1` and `... beat`.

The DB manager owns one database (EGP_GENE_POOL_URL) and knows one upstream library (the first of
EGP_LIBRARY_URLS). Its tasks are thin: the work is in egp.storage.sync. Each periodic task takes a Postgres
advisory lock, so an overlapping or duplicated run is a no-op, and its beat entry expires after one interval,
so a backlog of ticks never piles up.

Promote and pull can be aligned to the UTC clock (EGP_PROMOTE_PHASE_S, EGP_PULL_PHASE_S): every DB manager of
a federation then runs them at known offsets into the same sync period, whatever its start or restart time,
so a level's push can be timed before the next level's pull (see `aligned`).
"""

import logging
import math
from datetime import datetime
from typing import Any

from celery import Task
from celery.schedules import schedstate, schedule
from celery.signals import task_postrun

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.db import close_engines
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


class aligned(schedule):  # noqa: N801 (named like Celery's own schedules: crontab, solar)
    """Every `period` seconds at `phase` seconds past each multiple of `period` on the UTC clock.

    Unlike a plain interval (counted from beat's start), the moments do not move when a DB manager restarts,
    and DB managers started at different times run at the same moments.
    """

    def __init__(self, period: float, phase: float) -> None:
        """Runs at phase, phase + period, phase + 2·period, ... seconds since the epoch (UTC)."""
        super().__init__(run_every=period)
        self.period, self.phase = float(period), float(phase) % float(period)

    def slot(self, moment: datetime) -> int:
        """The number of the last run moment at or before `moment`."""
        return math.floor((moment.timestamp() - self.phase) / self.period)

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due when a run moment passed since the last run; otherwise the seconds to the next moment."""
        now = self.now()
        following = (self.slot(now) + 1) * self.period + self.phase - now.timestamp()
        due = self.slot(now) > self.slot(self.maybe_make_aware(last_run_at))
        return schedstate(is_due=due, next=max(following, 0.0))

    def __reduce__(self) -> tuple[type["aligned"], tuple[float, float]]:
        """Picklable for beat's schedule file."""
        return self.__class__, (self.period, self.phase)

    def __repr__(self) -> str:
        """Shown in beat's log."""
        return f"<aligned: every {self.period}s at +{self.phase}s>"


def sync_schedule(period: float, phase: float | None) -> float | aligned:
    """A plain interval, or the UTC-aligned schedule at `phase` when one is set."""
    return period if phase is None else aligned(period, phase)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The periodic DB-manager tasks, each expiring after its own interval."""
    settings = get_settings()
    entries: dict[str, dict[str, Any]] = {
        "archive": {"task": ARCHIVE_TASK, "schedule": settings.archive_interval_s},
        "watchdog": {"task": WATCHDOG_TASK, "schedule": settings.watchdog_interval_s},
    }
    if settings.library_urls:
        interval = settings.sync_interval_s
        entries["promote"] = {
            "task": PROMOTE_TASK,
            "schedule": sync_schedule(interval, settings.promote_phase_s),
        }
        entries["pull"] = {"task": PULL_TASK, "schedule": sync_schedule(interval, settings.pull_phase_s)}
    for entry in entries.values():
        every = entry["schedule"]
        entry["options"] = {"expires": every.period if isinstance(every, aligned) else every}
    return entries


app.conf.beat_schedule = beat_schedule()


def start() -> dict[str, Any]:
    """Bring the owned database to head (or refuse) and seed the shipped codons: the first thing it does."""
    return prepare_database(get_settings().gene_pool_url, get_settings())


def _log_start() -> None:
    """Prepare the database on the worker's start and log what that did."""
    logger.info("dbmanager start: %s", start())


check_on_start(app, "dbmanager", _log_start, dispatch_uid="egp.dbmanager.start")


def _close_connections(**_: object) -> None:
    """After each task, close the pooled connections: a DB manager works once a sync period, and a library
    serves the DB managers of every database below it, which must not each hold connections in between."""
    close_engines()


task_postrun.connect(_close_connections, weak=False, dispatch_uid="egp.dbmanager.close_connections")


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
