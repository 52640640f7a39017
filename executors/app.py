"""Celery app of the fitness executor pool: `celery -A executors.app worker -Q fitness`."""

from typing import Any

from celery import Task

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.health import process_report

app = make_app("egp.executors", Queue.FITNESS)


@app.task(name=health_task_name(Queue.FITNESS), bind=True)
def health(self: Task[[], dict[str, Any]]) -> dict[str, Any]:
    """Report this fitness executor's process and whether it can reach the Gene Pool."""
    return process_report(Queue.FITNESS, self.request.hostname, get_settings().gene_pool_url)
