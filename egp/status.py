"""What `egp status` reports: mode, broker, Gene Pool, libraries and the live workers on each queue."""

from __future__ import annotations

from typing import Any

import redis
from celery.exceptions import TimeoutError as CeleryTimeoutError
from kombu import Connection

from egp.celery_config import Queue, health_task_name, make_app
from egp.config import FitnessMode, Settings, display_url
from egp.db import sqlite_file
from egp.errors import one_line
from egp.health import database_report
from egp.installation import foreign_pool_packages


def broker_report(url: str, timeout: float) -> dict[str, Any]:
    """PING the broker (Redis) or open a connection to it (any other transport)."""
    report: dict[str, Any] = {"url": display_url(url)}
    try:
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
            try:
                client.ping()
            finally:
                client.close()
        else:
            with Connection(url, connect_timeout=timeout) as connection:
                connection.ensure_connection(max_retries=1)
    except Exception as error:  # every transport has its own errors; the reason is what matters
        return report | {"ok": False, "error": one_line(error)}
    return report | {"ok": True}


def required_queues(settings: Settings) -> set[Queue]:
    """Return the queues that must have a live worker: fitness only when fitness is evaluated remotely."""
    queues = {Queue.EVOLUTION, Queue.DBMANAGER}
    if settings.fitness_mode is FitnessMode.REMOTE:
        queues.add(Queue.FITNESS)
    return queues


def workers_report(settings: Settings, timeout: float, probe: bool) -> dict[str, dict[str, Any]]:
    """Ask every worker which queues it consumes; with `probe`, round-trip each queue's health task."""
    app = make_app("egp.status", Queue.EVOLUTION, settings)
    app.conf.broker_connection_retry = False
    try:
        answers = app.control.inspect(timeout=timeout).active_queues() or {}
        queues: dict[str, dict[str, Any]] = {}
        for queue in Queue:
            nodes = sorted(
                node for node, consumed in answers.items() if any(q["name"] == queue for q in consumed)
            )
            queues[str(queue)] = {
                "alive": bool(nodes),
                "required": queue in required_queues(settings),
                "workers": nodes,
            }
        if probe:
            # Send all probes first, so the waits overlap.
            pending = {
                # Expiring: a probe stuck behind long epochs is dropped, not run late or piled up.
                name: app.send_task(health_task_name(Queue(name)), expires=timeout)
                for name, entry in queues.items()
                if entry["alive"]
            }
            for name, result in pending.items():
                try:
                    queues[name]["health"] = result.get(timeout=timeout)
                except CeleryTimeoutError:
                    # A busy pool (long epochs, prefetch 1) may not answer in time; it is still alive.
                    queues[name]["health"] = {"error": f"no reply within {timeout:g}s (busy?)"}
                finally:
                    result.forget()
        return queues
    finally:
        app.close()


def collect_status(settings: Settings, timeout: float = 2.0, probe: bool = True) -> dict[str, Any]:
    """Check everything configured and return a report whose `problems` lists what is down."""
    problems: list[str] = []
    embedded = settings.embedded
    report: dict[str, Any] = {"mode": "embedded" if embedded else "distributed"}
    # A foreign `workers` (say) found first would be what `celery -A workers.app` runs.
    report["packages"] = foreign_pool_packages()
    problems.extend(report["packages"])

    gene_pool = database_report(settings.gene_pool_url)
    path = sqlite_file(settings.gene_pool_url)
    if embedded and gene_pool["state"] == "absent" and path is not None:
        # A fresh machine: the embedded Gene Pool file is created by `egp db upgrade` or the first run.
        gene_pool |= {"ok": True, "note": f"{path} will be created on first use (egp db upgrade)"}
    report["gene_pool"] = gene_pool
    if not gene_pool["ok"]:
        problems.append(f"Gene Pool {gene_pool['url']} is {gene_pool['state']}: {_reason(gene_pool)}")

    report["libraries"] = []
    for url in settings.library_urls:
        library = database_report(url)
        report["libraries"].append(library)
        if not library["ok"]:
            problems.append(f"library {library['url']} is {library['state']}: {_reason(library)}")

    if embedded:
        report["broker"] = {"url": None, "ok": True, "note": "embedded mode: no broker, in-process execution"}
        report["queues"] = {}
    else:
        broker = broker_report(settings.celery_broker_url, timeout)
        report["broker"] = broker
        if not broker["ok"]:
            problems.insert(0, f"broker {broker['url']} is unreachable: {broker['error']}")
            report["queues"] = {}
        else:
            report["queues"] = workers_report(settings, timeout, probe)
            for queue, entry in report["queues"].items():
                if entry["required"] and not entry["alive"]:
                    problems.append(f"no live worker consumes queue {queue}")
                health = entry.get("health", {})
                if health.get("gene_pool", {}).get("ok") is False:
                    problems.append(
                        f"workers on queue {queue} cannot use the Gene Pool: {_reason(health['gene_pool'])}"
                    )

    report["ok"] = not problems
    report["problems"] = problems
    return report


def _reason(database: dict[str, Any]) -> str:
    """Return why a database report is not ok, in a few words."""
    if database.get("state") == "needs upgrade":
        return f"schema {database.get('revision')}, head {database.get('head')}: run `egp db upgrade`"
    return str(database.get("error", "unknown"))
