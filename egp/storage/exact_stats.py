"""Exact statistic totals: fixed-point units at the storage boundary, so merging deltas is associative.

The engine keeps float totals in memory. Float addition is not associative, so stored totals that are sums of
float deltas depend on the order in which epochs, redeliveries, pushes and pulls arrive. At the storage
boundary every real-valued statistic (fitness and evolvability totals, survivability, and their upstream
snapshots) becomes an integer number of units of 10**-SCALE: a delta is rounded once, deterministically
(the exact binary value of the float, rounded half to even), and from then on only integers are added, which
gives the same total in any order and grouping.

Scale: 12 decimal places. A per-evaluation fitness lies in [0, 1] and a float holds about 16 significant
digits, so the rounding of one delta (at most 5e-13) is below what float summation already loses over a few
thousand evaluations, while 1e-12 keeps means meaningful far below any fitness difference selection acts on.

Storage: Postgres holds the value itself as NUMERIC(40, 12): the units exactly, with the decimal point in
place, so `fitness_total / fitness_count` stays a mean in SQL and an operator reads totals as numbers.
Postgres numeric addition is exact; its 28 integer digits overflow only past 10**28 (an error, never a
silent rounding), which no count of evaluations reaches. SQLite, the single-process embedded store, keeps
REAL columns: it has no exact decimal type, and a 64-bit integer of 1e-12 units would overflow after about
9.2 million unit-fitness evaluations. There the units are bound as the nearest float, and totals are as
exact as one writer's order makes them. Sync between databases always carries integer units (sync/push.py).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

SCALE = 12
UNIT: int = 10**SCALE
# Postgres column type of every exact statistic value.
NUMERIC_PRECISION = 40
# Digits for any finite float (at most 309 integer digits) with SCALE decimals: no rounding but the one.
_CONTEXT = Context(prec=400, rounding=ROUND_HALF_EVEN)
# The largest magnitude a stored value may have (the NUMERIC(40, 12) column's bound), in units.
MAX_UNITS: int = 10**NUMERIC_PRECISION - 1


class StatisticValueError(ValueError):
    """A stored or received statistic value that is not a finite number of units in range."""


def to_units(value: float) -> int:
    """A float statistic delta as integer units of 10**-SCALE (non-finite counts as 0, as finite_or_zero)."""
    if not math.isfinite(value):
        return 0
    return int(_CONTEXT.to_integral_value(Decimal(value).scaleb(SCALE, _CONTEXT)))


def from_units(units: int) -> float:
    """Integer units as the float the engine uses (correctly rounded)."""
    return units / UNIT


def bind_units(units: int, postgres: bool) -> Decimal | float:
    """Units as a bound parameter or COPY value: an exact Decimal on Postgres, the nearest float on SQLite."""
    if postgres:
        return Decimal(units).scaleb(-SCALE, _CONTEXT)
    return from_units(units)


def stored_units(value: Any) -> int:
    """A stored statistic value (Decimal on Postgres, float on SQLite, int) as integer units.

    Raises StatisticValueError for NaN, infinity, a value with more than SCALE decimals (only possible in a
    row written around EGP) or one out of range: a row from another database is checked, never trusted.
    """
    if isinstance(value, bool) or value is None:
        raise StatisticValueError(f"statistic value {value!r} is not a number")
    if isinstance(value, int):
        units = value * UNIT
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise StatisticValueError(f"statistic value {value!r} is not finite")
        units = to_units(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise StatisticValueError(f"statistic value {value} is not finite")
        try:
            scaled = value.scaleb(SCALE, _CONTEXT)
            if scaled != scaled.to_integral_value(context=_CONTEXT):
                raise StatisticValueError(f"statistic value {value} has more than {SCALE} decimals")
            units = int(scaled)
        except InvalidOperation:
            raise StatisticValueError(f"statistic value {str(value)[:40]} is out of range") from None
    else:
        raise StatisticValueError(f"statistic value of type {type(value).__name__} is not a number")
    if abs(units) > MAX_UNITS:
        raise StatisticValueError(f"statistic value {str(value)[:40]} is out of range")
    return units


def stored_float(value: Any) -> float:
    """A stored statistic value as the engine's float (via its exact units)."""
    return from_units(stored_units(value))


def check_count(value: Any) -> int:
    """A stored count from another database: an integer within BIGINT; StatisticValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
        raise StatisticValueError(f"count {str(value)[:40]!r} is not a 64-bit integer")
    return value


__all__ = [
    "NUMERIC_PRECISION",
    "SCALE",
    "UNIT",
    "StatisticValueError",
    "bind_units",
    "check_count",
    "from_units",
    "stored_float",
    "stored_units",
    "to_units",
]
