"""A least-recently-used cache bounded by an approximate byte budget (the executor's L1 cache)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class LRUCache:
    """A least-recently-used cache bounded by an approximate byte budget, with hit statistics."""

    def __init__(self, budget_bytes: int) -> None:
        """An empty cache holding at most about `budget_bytes`."""
        self.budget = budget_bytes
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()

    def get(self, key: bytes) -> Any | None:
        """The cached value, or None (counted as a miss)."""
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: bytes, value: Any, size: int) -> None:
        """Store a value of the given approximate size, evicting the least recently used."""
        old = self._items.pop(key, None)
        if old is not None:
            self.used -= old[1]
        self._items[key] = (value, size)
        self.used += size
        while self.used > self.budget and len(self._items) > 1:
            _, (_, evicted) = self._items.popitem(last=False)
            self.used -= evicted

    def __len__(self) -> int:
        """Number of entries."""
        return len(self._items)

    @property
    def hit_rate(self) -> float:
        """Fraction of lookups that hit (0 when there were none)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
