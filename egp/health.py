"""Health reports: whether this process can reach its databases, for the pools' health tasks and status."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy.exc import DBAPIError

from egp.config import display_url
from egp.db import ping, sqlite_file
from egp.errors import EGPError, one_line
from egp.migrations import current


def database_report(url: str) -> dict[str, Any]:
    """Connect to `url` and report whether it answers, its schema revision and whether that is head.

    A SQLite file that does not exist yet is reported as absent rather than created.
    """
    report: dict[str, Any] = {"url": display_url(url)}
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return report | {"ok": False, "state": "absent", "error": f"{path} does not exist yet"}
    try:
        ping(url)
    except DBAPIError as error:  # the driver's own message says why (refused, auth, unknown database)
        return report | {"ok": False, "state": "unreachable", "error": one_line(error.orig or error)}
    try:
        info = current(url)
    except EGPError as error:
        return report | {"ok": False, "state": "error", "error": str(error)}
    except Exception as error:  # e.g. a table in a state no EGP revision produces
        return report | {"ok": False, "state": "error", "error": one_line(error)}
    state = "current" if info.at_head else "needs upgrade"
    return report | {
        "ok": info.at_head,
        "state": state,
        "revision": info.revision,
        "head": info.head,
        "role": info.role,
        "database_uuid": str(info.database_uuid) if info.database_uuid else None,
    }


def process_report(queue: str, worker: str | None, gene_pool_url: str) -> dict[str, Any]:
    """Report who is answering (worker name, host, pid), on which queue, and its Gene Pool's health."""
    return {
        "queue": queue,
        "worker": worker,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "gene_pool": database_report(gene_pool_url),
    }
