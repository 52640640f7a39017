"""The delta rule by which statistics merge between a database and its upstream (architecture principle 6).

Every mergeable value V (totals, counts, survivability, descendants) has a snapshot V_snap of what was last
exchanged with the upstream:

- push adds the local delta V - V_snap to the upstream row and sets V_snap to the value pushed;
- pull sets V to V + (V_up - V_snap) and V_snap to V_up.

With totals and counts this is exactly `C_new = C + C_up - C_snap` and
`V_new = (V·C + V_up·C_up - V_snap·C_snap) / C_new` for the means. Pushes are commutative (additions), so
they need no distributed lock. Real-valued values are exact fixed point (`exact_stats`): a delta travels as
integer units and every addition above is exact, so any order of pushes and pulls gives the same totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from egp.storage.exact_stats import bind_units, check_count, stored_units
from egp.storage.statistics import PGC_VALUES, STATS_VALUES

# Push: every mergeable value is added (survivability too: its delta since the last exchange).
PUSH_STATS_CONFLICT = "ON CONFLICT (signature, problem) DO UPDATE SET " + ", ".join(
    f"{c} = gc_problem_stats.{c} + excluded.{c}" for c in STATS_VALUES
)
PUSH_PGC_CONFLICT = "ON CONFLICT (signature, layer) DO UPDATE SET " + ", ".join(
    f"{c} = pgc_stats.{c} + excluded.{c}" for c in PGC_VALUES
)


# The real-valued (exact fixed-point) values; the others are integer counts.
EXACT_VALUES = frozenset({"fitness_total", "evolvability_total", "survivability"})
# Marks a pending batch whose deltas are integer units (a batch prepared before revision 0009 holds floats).
WIRE_UNITS = "units"


def wire_delta(name: str, value: Any, snapshot: Any) -> int:
    """The delta value - snapshot of statistic `name` as the batch carries it: integer units or a count."""
    if name in EXACT_VALUES:
        return stored_units(value) - stored_units(snapshot)
    return check_count(value) - check_count(snapshot)


def bind_wire(name: str, delta: Any, postgres: bool, units: bool) -> Any:
    """A batch's delta of `name` as a bound value of the upstream; `units` False: a pre-0009 float delta."""
    if name in EXACT_VALUES:
        return bind_units(int(delta) if units else stored_units(float(delta)), postgres)
    return check_count(delta)


def exact_copy(name: str, value: Any, postgres: bool) -> Any:
    """A statistic value read from another database, checked and rebound for this one (ValueError if bad)."""
    if name in EXACT_VALUES:
        return bind_units(stored_units(value), postgres)
    return check_count(value)


def pull_conflict(table: str, key: str, values: Sequence[str]) -> str:
    """ON CONFLICT clause of a pull: V = V + (V_up - V_snap), V_snap = V_up (staged as both columns)."""
    sets = [
        f"{v} = {table}.{v} + excluded.{v} - {table}.{v}_snap, {v}_snap = excluded.{v}_snap" for v in values
    ]
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(sets)


__all__ = [
    "EXACT_VALUES",
    "PGC_VALUES",
    "PUSH_PGC_CONFLICT",
    "PUSH_STATS_CONFLICT",
    "STATS_VALUES",
    "WIRE_UNITS",
    "bind_wire",
    "exact_copy",
    "pull_conflict",
    "wire_delta",
]
