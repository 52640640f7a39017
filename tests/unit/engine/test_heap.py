"""Keeping freed heap memory for large output columns (glibc's trim and mmap thresholds)."""

from __future__ import annotations

import sys

import pytest

from egp.engine import heap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_the_setting_takes_effect_once_and_only_grows() -> None:
    """The first call sets the threshold; a smaller budget later leaves it; a larger one raises it."""
    assert heap.keep_freed_memory(64 * 1024 * 1024)
    kept = heap._kept
    assert kept >= 64 * 1024 * 1024
    assert heap.keep_freed_memory(1024)
    assert heap._kept == kept
    assert heap.keep_freed_memory(kept + 1)
    assert heap._kept == kept + 1
