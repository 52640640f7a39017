"""The Gene Pool page's aggregates cache: computed once, served while fresh, recomputed in the background
when stale (the stale value is served meanwhile), and kept when a recomputation fails."""

from __future__ import annotations

import threading
import time

from egp.dashboard.cache import Refreshing


def test_a_value_is_computed_once_while_fresh() -> None:
    calls: list[int] = []
    cache = Refreshing(lambda: {"n": len(calls.append(1) or calls)}, ttl_s=60)
    first = cache.get()
    assert first["n"] == 1 and "computed" in first
    assert cache.get() is first and len(calls) == 1


def test_a_stale_value_is_served_while_it_is_recomputed_in_the_background() -> None:
    release = threading.Event()
    values = iter([1, 2])

    def compute() -> dict[str, int]:
        value = next(values)
        if value == 2:
            release.wait(10)
        return {"n": value}

    cache = Refreshing(compute, ttl_s=0.0)
    assert cache.get()["n"] == 1
    time.sleep(0.01)
    assert cache.get()["n"] == 1  # stale: served at once, a recomputation started
    release.set()
    deadline = time.monotonic() + 10
    while cache.get()["n"] != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_failed_recomputation_keeps_the_value() -> None:
    state = {"fail": False}

    def compute() -> dict[str, bool]:
        if state["fail"]:
            raise RuntimeError("database gone")
        return {"ok": True}

    cache = Refreshing(compute, ttl_s=0.0)
    assert cache.get()["ok"]
    state["fail"] = True
    cache.refresh_soon()
    time.sleep(0.2)
    assert cache.get()["ok"]
