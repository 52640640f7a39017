"""Celery app of the DB manager: `celery -A dbmanager.app worker -Q dbmanager -c 1` and `... beat`."""

from typing import Any

from celery import Task

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.health import process_report

app = make_app("egp.dbmanager", Queue.DBMANAGER)

# Periodic DB-manager tasks (sync with the libraries, the epoch watchdog) are added here by name,
# e.g. {"watchdog": {"task": "dbmanager.watchdog", "schedule": 60.0}}; `celery -A dbmanager.app beat`
# sends them. Empty until those tasks exist.
app.conf.beat_schedule = {}


@app.task(name=health_task_name(Queue.DBMANAGER), bind=True)
def health(self: Task[[], dict[str, Any]]) -> dict[str, Any]:
    """Report this DB manager's process and whether it can reach the Gene Pool it owns."""
    return process_report(Queue.DBMANAGER, self.request.hostname, get_settings().gene_pool_url)
