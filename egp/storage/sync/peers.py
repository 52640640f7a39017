"""Who a database exchanges GCs with, and what one exchange (a promote or a pull) reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from egp.config import Settings, display_url, normalise_database_url
from egp.errors import EGPError, one_line
from egp.storage.sql_pool import SchemaNotAtHeadError, SQLGenePool


class SyncError(EGPError):
    """A promote or pull cannot run (no upstream configured, upstream not at head, unreachable)."""


@dataclass
class SyncReport:
    """What one promote or pull did."""

    direction: str
    upstream: str
    skipped: str | None = None
    batch: int | None = None
    gcs_sent: int = 0
    gcs_new: int = 0
    stats_rows: int = 0
    pgc_stats_rows: int = 0
    quarantined: int = 0
    already_applied: bool = False
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def upstream_of(settings: Settings) -> str:
    """The upstream library of this database: the first of EGP_LIBRARY_URLS."""
    if not settings.library_urls:
        raise SyncError("no upstream library: set EGP_LIBRARY_URLS to a JSON list of database URLs")
    return settings.library_urls[0]


def peer_name(url: str) -> str:
    """The `sync_state` peer name of an upstream database."""
    return "upstream:" + display_url(normalise_database_url(url))


def open_upstream(url: str) -> SQLGenePool:
    """The upstream library as a pool; SchemaNotAtHeadError or a one-line SyncError if it is unusable."""
    try:
        return SQLGenePool(url)
    except SchemaNotAtHeadError:
        raise
    except Exception as error:  # a driver or URL error becomes one line naming the upstream
        raise SyncError(f"upstream {display_url(url)}: {one_line(error)}") from None


__all__ = ["SyncError", "SyncReport", "open_upstream", "peer_name", "upstream_of"]
