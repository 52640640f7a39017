"""Task names in one module, and the start check and retry options every pool shares."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from celery import Celery, Task
from celery.signals import worker_init
from sqlalchemy.exc import OperationalError

from egp.celery_config import Queue, make_app, queue_for_task
from egp.config import load_settings
from egp.errors import EGPError
from egp.task_names import TASKS_BY_QUEUE
from egp.worker_support import CONNECTION_ERRORS, RETRY_ON_CONNECTION_ERRORS, check_on_start


def test_every_registered_task_is_named_in_task_names() -> None:
    """Each pool defines exactly the task names egp.task_names lists for its queue, routed to that queue."""
    import dbmanager.app
    import executors.app
    import workers.app

    pools = ((workers.app, Queue.EVOLUTION), (executors.app, Queue.FITNESS), (dbmanager.app, Queue.DBMANAGER))
    for module, queue in pools:
        defined = {task.name for task in vars(module).values() if isinstance(task, Task)}
        assert defined == TASKS_BY_QUEUE[str(queue)]
        assert {queue_for_task(name) for name in defined} == {queue}
        assert set(TASKS_BY_QUEUE[str(queue)]) <= set(module.app.tasks)


def test_the_beat_schedule_sends_registered_tasks() -> None:
    """Every beat entry names a task the DB manager registers."""
    import dbmanager.app

    schedule = dbmanager.app.app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} <= TASKS_BY_QUEUE["dbmanager"]


def test_tasks_that_retry_use_the_shared_options() -> None:
    """The start, epoch and fitness tasks retry exactly the shared connection errors, with backoff."""
    import executors.app
    import workers.app

    for task in (workers.app.start, workers.app.epoch, executors.app.evaluate_batch_task):
        assert tuple(task.autoretry_for) == CONNECTION_ERRORS
        assert (task.retry_backoff, task.retry_backoff_max, task.max_retries) == (1, 60, 20)
    assert RETRY_ON_CONNECTION_ERRORS["autoretry_for"] is CONNECTION_ERRORS


def _started(app: Celery, check: Callable[[], object], tolerate: tuple[type[Exception], ...] = ()) -> None:
    """Register `check` as a start check of `app` and run it as `app`'s worker starting would."""
    uid = f"test-{id(check)}"
    handler = check_on_start(app, "test pool", check, dispatch_uid=uid, tolerate=tolerate)
    worker_init.disconnect(dispatch_uid=uid)
    handler(sender=SimpleNamespace(app=app))


def test_a_failed_start_check_stops_the_worker_with_one_line() -> None:
    """An EGPError from the check becomes SystemExit naming the pool and the reason."""
    app = make_app("test", Queue.FITNESS, load_settings())

    def refuse() -> None:
        raise EGPError("codon files differ")

    with pytest.raises(SystemExit, match=r"^test pool: codon files differ$"):
        _started(app, refuse)


def test_a_tolerated_error_lets_the_worker_start() -> None:
    """A tolerated error (the database not up yet) is logged and the worker goes on; others propagate."""
    app = make_app("test", Queue.FITNESS, load_settings())
    calls: list[str] = []

    def database_down() -> None:
        calls.append("checked")
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    _started(app, database_down, tolerate=(OperationalError,))
    assert calls == ["checked"]
    with pytest.raises(OperationalError):
        _started(app, database_down)


def test_the_start_check_ignores_other_apps_workers() -> None:
    """A worker of another app in the same process does not run this app's check."""
    app = make_app("test", Queue.FITNESS, load_settings())
    other = make_app("other", Queue.FITNESS, load_settings())
    calls: list[str] = []
    handler = check_on_start(app, "test pool", lambda: calls.append("checked"), dispatch_uid="test-other")
    worker_init.disconnect(dispatch_uid="test-other")
    handler(sender=SimpleNamespace(app=other))
    assert calls == []
    handler(sender=SimpleNamespace(app=app))
    assert calls == ["checked"]
