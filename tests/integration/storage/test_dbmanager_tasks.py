"""The DB-manager tasks run on a real `celery worker` against its Postgres Gene Pool."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from egp.celery_config import Queue, make_app
from egp.db import get_engine


def run_task(pools: Any, name: str) -> Any:
    """Send task `name` to the DB manager and wait for its result."""
    app = make_app("test-client", Queue.EVOLUTION, pools.settings)
    try:
        result = app.send_task(name)
        value = result.get(timeout=60)
        result.forget()
        return value
    finally:
        app.close()


@pytest.mark.slow
def test_start_watchdog_and_archive_tasks(celery_pools: Any) -> None:
    """The worker seeded its database on start; start again changes nothing; watchdog and archive answer."""
    url = celery_pools.gene_pool_url
    with get_engine(url).connect() as connection:
        codons = connection.execute(
            text("SELECT count(*) FROM genetic_codes WHERE codon_inline IS NOT NULL")
        ).scalar_one()
        sources = connection.execute(text("SELECT count(*) FROM sources")).scalar_one()
    assert codons > 0 and sources > 0
    assert run_task(celery_pools, "dbmanager.start")["codons_added"] == 0
    assert run_task(celery_pools, "dbmanager.watchdog") == []
    assert run_task(celery_pools, "dbmanager.archive") == {"archived": 0}
