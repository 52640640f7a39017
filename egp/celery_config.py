"""Celery configuration shared by the three pools: queues, routing by task name, reliability defaults.

This module builds configuration and bare apps only; it never imports a task module, so the library
stays free of the workers, executors and dbmanager packages.
"""

from __future__ import annotations

from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup, worker_process_init
from kombu import Exchange
from kombu import Queue as KombuQueue

from egp.config import Settings, get_settings
from egp.db import dispose_engines
from egp.task_names import health_task_name


class Queue(StrEnum):
    """The Celery queues; a task named `<queue>.<action>` is routed to `<queue>`."""

    EVOLUTION = "evolution"
    FITNESS = "fitness"
    DBMANAGER = "dbmanager"


# Routing by name prefix: `evolution.epoch` goes to the evolution queue, and so on.
TASK_ROUTES: dict[str, dict[str, str]] = {f"{queue}.*": {"queue": str(queue)} for queue in Queue}


def queue_for_task(task_name: str) -> Queue | None:
    """Return the queue TASK_ROUTES sends `task_name` to, or None when no route matches."""
    for pattern, route in TASK_ROUTES.items():
        if fnmatchcase(task_name, pattern):
            return Queue(route["queue"])
    return None


def celery_config(settings: Settings | None = None) -> dict[str, Any]:
    """Return the Celery settings every EGP app shares, as a plain dict."""
    settings = settings or get_settings()
    return {
        "broker_url": settings.celery_broker_url,
        "result_backend": settings.celery_result_backend,
        # JSON only: a pickle payload from the broker would be code execution.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Each queue has its own direct exchange, so every app declares the same bindings.
        "task_queues": [
            KombuQueue(str(queue), Exchange(str(queue), type="direct"), routing_key=str(queue))
            for queue in Queue
        ],
        "task_routes": (TASK_ROUTES,),
        # A route to an undeclared queue is an error, not a silently created queue nobody consumes.
        "task_create_missing_queues": False,
        # Tasks are idempotent, so redelivering one whose worker died is safe; long tasks want prefetch 1.
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "broker_connection_retry_on_startup": True,
        # Redelivery after a lost worker must not wait Redis's default hour; stay above the longest task.
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout_s},
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout_s},
        "result_expires": settings.result_expires_s,
        # Every task ends before its redelivery could start a second copy (the soft limit raises in the task,
        # so an epoch that is too long fails its job with the reason; the hard limit kills what ignores it).
        "task_soft_time_limit": max(1, settings.task_hard_time_limit_s * 9 // 10),
        "task_time_limit": settings.task_hard_time_limit_s,
        "enable_utc": True,
        "timezone": "UTC",
    }


def _dispose_engines_after_fork(**_: object) -> None:
    """Drop database engines inherited from the parent so each pool process opens its own connections."""
    dispose_engines()


# One handler for every app in the process; the uid keeps it from being connected twice.
worker_process_init.connect(_dispose_engines_after_fork, weak=False, dispatch_uid="egp.dispose_engines")


def make_app(name: str, queue: Queue, settings: Settings | None = None) -> Celery:
    """Return a Celery app configured for EGP; its worker consumes only `queue` unless `-Q` says otherwise."""
    app = Celery(name, set_as_current=False)
    app.conf.update(
        celery_config(settings), task_default_queue=str(queue), task_default_routing_key=str(queue)
    )

    def consume_own_queue(sender: object, instance: Any, **_: object) -> None:
        """Without `-Q` a worker would consume every declared queue, including tasks it cannot run."""
        queues = app.amqp.queues
        if instance.app is app and set(queues.consume_from) == {str(q) for q in Queue}:
            queues.select([str(queue)])

    celeryd_after_setup.connect(consume_own_queue, weak=False)
    return app


__all__ = ["TASK_ROUTES", "Queue", "celery_config", "health_task_name", "make_app", "queue_for_task"]
