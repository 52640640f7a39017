"""A value recomputed off the request path: the Gene Pool page's aggregates (counts, problems, the most
reused building blocks) scan every stored GC, a quarter of a second at 10⁵ GCs, so the dashboard keeps the
latest result, answers from it, and recomputes it in a background thread once it is older than its
time-to-live (the page shows when it was computed). Only the first request ever waits for the computation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


class Refreshing:
    """The latest result of `compute` (a JSON-ready dict) with the time it was computed."""

    def __init__(self, compute: Callable[[], dict[str, Any]], ttl_s: float) -> None:
        """Keep `compute`'s result, recomputing it in the background once older than `ttl_s` seconds."""
        self.compute = compute
        self.ttl_s = ttl_s
        self._value: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = threading.Lock()
        self._refreshing = False

    def _run(self) -> dict[str, Any]:
        """Compute and keep a fresh value."""
        value = self.compute() | {"computed": datetime.now(UTC).isoformat()}
        with self._lock:
            self._value, self._at = value, time.monotonic()
        return value

    def _background(self) -> None:
        """Recompute in this thread; a failure keeps the old value (the next request tries again)."""
        try:
            self._run()
        except Exception:
            log.exception("recomputing the Gene Pool page's figures failed")
        finally:
            with self._lock:
                self._refreshing = False

    def refresh_soon(self) -> None:
        """Start one background recomputation unless one is under way."""
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._background, name="egp-dashboard-refresh", daemon=True).start()

    def get(self) -> dict[str, Any]:
        """The latest value (computed now if there is none yet); a stale one starts a recomputation."""
        with self._lock:
            value, age = self._value, time.monotonic() - self._at
        if value is None:
            return self._run()
        if age > self.ttl_s:
            self.refresh_soon()
        return value
