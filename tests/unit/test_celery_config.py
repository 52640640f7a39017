"""Celery configuration: JSON only, routing by task-name prefix, one queue per pool, health tasks."""

from __future__ import annotations

import resource
from pathlib import Path
from types import SimpleNamespace

import pytest
from celery.exceptions import QueueNotFound
from celery.signals import celeryd_after_setup, worker_process_init

from egp.celery_config import Queue, celery_config, health_task_name, make_app, queue_for_task
from egp.config import load_settings
from egp.db import get_engine
from egp.errors import ConfigurationError


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("evolution.epoch", Queue.EVOLUTION),
        ("fitness.evaluate_batch", Queue.FITNESS),
        ("dbmanager.promote", Queue.DBMANAGER),
        ("dbmanager.health", Queue.DBMANAGER),
        ("misc.thing", None),
    ],
)
def test_tasks_route_by_name_prefix(task: str, queue: Queue | None) -> None:
    """`<queue>.<action>` goes to `<queue>`; other names match no route."""
    assert queue_for_task(task) == queue


@pytest.mark.parametrize("task", ["evolution.epoch", "fitness.evaluate_batch", "dbmanager.promote"])
def test_celerys_router_agrees(task: str) -> None:
    """Celery's own router, given our config, picks the same queue as queue_for_task."""
    app = make_app("test", Queue.EVOLUTION, load_settings())
    route = app.amqp.router.route({}, task)
    assert route["queue"].name == queue_for_task(task)


def test_a_route_to_an_undeclared_queue_is_an_error() -> None:
    """task_create_missing_queues is off, so a mistyped queue raises instead of being created."""
    app = make_app("test", Queue.EVOLUTION, load_settings())
    with pytest.raises(QueueNotFound):
        app.amqp.router.route({"queue": "evolutoin"}, "evolution.epoch")


def test_config_is_json_only_and_reliable() -> None:
    """No pickle; acks late and prefetch 1; events on; visibility timeout from the settings."""
    config = celery_config(load_settings(visibility_timeout_s=1234))
    assert config["accept_content"] == ["json"]
    assert config["task_serializer"] == config["result_serializer"] == "json"
    assert config["task_acks_late"] is True and config["worker_prefetch_multiplier"] == 1
    assert config["task_send_sent_event"] and config["worker_send_task_events"]
    assert config["task_create_missing_queues"] is False
    assert config["broker_transport_options"] == {"visibility_timeout": 1234}
    assert {q.name for q in config["task_queues"]} == {"evolution", "fitness", "dbmanager"}


def test_each_pool_registers_its_health_task() -> None:
    """workers, executors and dbmanager each serve `<queue>.health`, and default to their own queue."""
    import dbmanager.app
    import executors.app
    import workers.app

    for module, queue in ((workers.app, Queue.EVOLUTION), (executors.app, Queue.FITNESS)):
        assert health_task_name(queue) in module.app.tasks
        assert module.app.conf.task_default_queue == queue
    assert health_task_name(Queue.DBMANAGER) in dbmanager.app.app.tasks
    schedule = dbmanager.app.app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} >= {"dbmanager.archive", "dbmanager.watchdog"}
    assert all(entry["options"]["expires"] == entry["schedule"] for entry in schedule.values())


def test_a_worker_without_queue_option_consumes_only_its_own_queue() -> None:
    """Without -Q, a pool's worker is narrowed to its own queue (not every declared queue)."""
    app = make_app("test", Queue.FITNESS, load_settings())
    assert set(app.amqp.queues.consume_from) == {"evolution", "fitness", "dbmanager"}
    celeryd_after_setup.send(sender="fitness@test", instance=SimpleNamespace(app=app), conf=app.conf)
    assert set(app.amqp.queues.consume_from) == {"fitness"}


def test_an_explicit_queue_option_is_kept() -> None:
    """With -Q, the worker consumes what the command line says."""
    app = make_app("test", Queue.DBMANAGER, load_settings())
    app.amqp.queues.select(["evolution", "dbmanager"])
    celeryd_after_setup.send(sender="dbmanager@test", instance=SimpleNamespace(app=app), conf=app.conf)
    assert set(app.amqp.queues.consume_from) == {"evolution", "dbmanager"}


def test_a_forked_pool_process_drops_inherited_engines(tmp_path: Path) -> None:
    """worker_process_init (sent in each new prefork child) makes the next get_engine build a new engine."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    inherited = get_engine(url)
    # The signal also runs the executor's memory cap where executors.app was imported: keep it off this
    # process (its later subprocesses, e.g. the browser tests' chromium, would inherit it and crash).
    limits = resource.getrlimit(resource.RLIMIT_AS)
    try:
        worker_process_init.send(sender=None)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, limits)
    assert get_engine(url) is not inherited


def test_tasks_are_time_limited_below_the_visibility_timeout() -> None:
    """A task ends (soft, then hard limit) before Redis would redeliver it to run a second copy."""
    config = celery_config(load_settings())
    assert config["task_soft_time_limit"] < config["task_time_limit"] < 600
    config = celery_config(load_settings(visibility_timeout_s=300))
    assert config["task_time_limit"] < 300
    assert celery_config(load_settings(task_time_limit_s=100))["task_time_limit"] == 100


def test_a_time_limit_at_the_visibility_timeout_is_refused() -> None:
    """EGP_TASK_TIME_LIMIT_S not below EGP_VISIBILITY_TIMEOUT_S is one configuration error naming both."""
    with pytest.raises(ConfigurationError, match=r"EGP_TASK_TIME_LIMIT_S .* EGP_VISIBILITY_TIMEOUT_S"):
        load_settings(task_time_limit_s=600)
