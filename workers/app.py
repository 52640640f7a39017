"""Celery app of the evolution worker pool: `celery -A workers.app worker -Q evolution`."""

from typing import Any

from celery import Task

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import get_settings
from egp.health import process_report

app = make_app("egp.workers", Queue.EVOLUTION)


@app.task(name=health_task_name(Queue.EVOLUTION), bind=True)
def health(self: Task[[], dict[str, Any]]) -> dict[str, Any]:
    """Report this evolution worker's process and whether it can reach the Gene Pool."""
    return process_report(Queue.EVOLUTION, self.request.hostname, get_settings().gene_pool_url)
