"""Problems whose fitness function misbehaves for some programs: for the executor's time and memory limits."""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from egp.problems.base import Assessment
from egp.problems.regression import KozaQuartic


def _unlucky(outputs: Sequence[Any], every: int) -> bool:
    """A deterministic pick of about one program in `every` by its outputs."""
    column = np.asarray(outputs[0], dtype=np.float64)
    return zlib.crc32(column.tobytes()) % every == 0


class SleepyQuartic(KozaQuartic):
    """Koza quartic whose fitness function sleeps forever for about one program in five."""

    name = "sleepy-quartic"

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Sleep forever on unlucky programs, else score as koza-quartic."""
        if _unlucky(outputs, 5):
            while True:
                time.sleep(1)
        return super().assess(outputs)


class HungryQuartic(KozaQuartic):
    """Koza quartic whose fitness function allocates without bound for about one program in five."""

    name = "hungry-quartic"

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Allocate until memory runs out on unlucky programs, else score as koza-quartic."""
        if _unlucky(outputs, 5):
            hoard = []
            while True:
                # bytes(n) is calloc'd: address space the executor's RLIMIT_AS counts at once, without the
                # zero-filling of bytearray(n), which on a slow machine outran the 0.5 s time limit first.
                hoard.append(bytes(50_000_000))
        return super().assess(outputs)


class SlowQuartic(KozaQuartic):
    """Koza quartic whose fitness function takes 50 ms for every program: an evaluation that clearly costs
    more than a hop to the executors, even on a loaded machine (auto fitness mode must go remote)."""

    name = "slow-quartic"

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Wait 50 ms, then score as koza-quartic."""
        time.sleep(0.05)
        return super().assess(outputs)
