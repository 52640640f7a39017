"""What every EGP Celery app does the same way: which errors are retried, and a check before it serves.

Imported by workers/, executors/ and dbmanager/; it imports none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.signals import worker_init
from kombu.exceptions import OperationalError as BrokerError
from psycopg import OperationalError as PsycopgOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import InterfaceError, OperationalError

from egp.config import get_settings
from egp.errors import EGPError
from egp.jobs.compat import check_codon_registry

logger = logging.getLogger(__name__)

# Errors of a lost connection: retried with backoff (1, 2, 4 … 60 s), never a user's mistake.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PsycopgOperationalError,
    RedisConnectionError,
    BrokerError,
    ConnectionError,
)

#: Task options for a task that retries lost connections: `@app.task(name=..., **RETRY_ON_CONNECTION_ERRORS)`.
RETRY_ON_CONNECTION_ERRORS: dict[str, Any] = {
    "autoretry_for": CONNECTION_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "max_retries": 20,
}


def check_on_start(
    app: Celery,
    role: str,
    check: Callable[[], object],
    *,
    dispatch_uid: str,
    tolerate: tuple[type[Exception], ...] = (),
) -> Callable[..., None]:
    """Run `check()` when `app`'s worker starts: an EGPError stops the worker with one line naming `role`.

    Errors in `tolerate` are logged as warnings and the worker starts anyway (its tasks retry them).
    Returns the connected handler.
    """

    def run_check(sender: Any = None, **_: object) -> None:
        """The worker_init handler; other apps' workers in the same process are left alone."""
        if getattr(sender, "app", None) is not app:
            return
        try:
            check()
        except EGPError as error:
            logger.error("%s refuses to start: %s", role, error)
            raise SystemExit(f"{role}: {error}") from None
        except tolerate as error:
            logger.warning("%s cannot run its start check yet: %s", role, error)

    worker_init.connect(run_check, weak=False, dispatch_uid=dispatch_uid)
    return run_check


def _check_registry() -> None:
    """Refuse codon files that differ from the Gene Pool's; log the registry hash when they match."""
    logger.info("codon registry %s matches the Gene Pool", check_codon_registry(get_settings())[:16])


def check_registry_on_start(app: Celery, role: str, *, dispatch_uid: str) -> None:
    """On `app`'s worker start, refuse to run with codon files that differ from the Gene Pool's.

    The database may come up after the worker, so a failed connection only warns: the tasks retry it.
    """
    check_on_start(app, role, _check_registry, dispatch_uid=dispatch_uid, tolerate=(OperationalError,))
