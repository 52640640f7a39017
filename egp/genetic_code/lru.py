"""The executor's least-recently-used caches: cachetools' LRUCache, with the hit statistics EGP reports.

Bounded either by an entry count or, with `getsizeof`, by an approximate byte budget (the L1 cache of
prepared GCs: `FlatProgram.approximate_bytes`). A value larger than the whole budget is not cached at all
(cachetools refuses it); preparing it again is the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cachetools


class CountingLRUCache(cachetools.LRUCache[Any, Any]):
    """cachetools' LRU cache that counts the hits and misses of `get` (what `hit_rate` reports)."""

    def __init__(self, maxsize: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        """An empty cache of at most `maxsize` entries, or of that total `getsizeof` when one is given."""
        super().__init__(maxsize, getsizeof)
        self.hits = 0
        self.misses = 0

    def get(self, key: Any, default: Any = None) -> Any:
        """The cached value (now the most recently used), or `default`, counted as a miss."""
        try:
            value = self[key]
        except KeyError:
            self.misses += 1
            return default
        self.hits += 1
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        """Cache `value`, evicting the least recently used; a value larger than the budget is not cached."""
        if self.getsizeof(value) > self.maxsize:
            return
        super().__setitem__(key, value)

    @property
    def hit_rate(self) -> float:
        """Fraction of lookups that hit (0 when there were none)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


__all__ = ["CountingLRUCache"]
