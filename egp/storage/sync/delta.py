"""The delta rule by which statistics merge between a database and its upstream (architecture principle 6).

Every mergeable value V (totals, counts, survivability, descendants) has a snapshot V_snap of what was last
exchanged with the upstream:

- push adds the local delta V - V_snap to the upstream row and sets V_snap to the value pushed;
- pull sets V to V + (V_up - V_snap) and V_snap to V_up.

With totals and counts this is exactly `C_new = C + C_up - C_snap` and
`V_new = (V·C + V_up·C_up - V_snap·C_snap) / C_new` for the means. Pushes are commutative (additions), so
they need no distributed lock.
"""

from __future__ import annotations

from collections.abc import Sequence

# Push: every mergeable value is added (survivability too: its delta since the last exchange).
PUSH_STATS_CONFLICT = "ON CONFLICT (signature, problem) DO UPDATE SET " + ", ".join(
    f"{c} = gc_problem_stats.{c} + excluded.{c}"
    for c in (
        "fitness_total",
        "fitness_count",
        "evolvability_total",
        "evolvability_count",
        "survivability",
        "descendants",
    )
)
PUSH_PGC_CONFLICT = "ON CONFLICT (signature, layer) DO UPDATE SET " + ", ".join(
    f"{c} = pgc_stats.{c} + excluded.{c}"
    for c in ("fitness_total", "fitness_count", "evolvability_total", "evolvability_count")
)
STATS_VALUES = (
    "fitness_total",
    "fitness_count",
    "evolvability_total",
    "evolvability_count",
    "survivability",
    "descendants",
)
PGC_VALUES = ("fitness_total", "fitness_count", "evolvability_total", "evolvability_count")


def pull_conflict(table: str, key: str, values: Sequence[str]) -> str:
    """ON CONFLICT clause of a pull: V = V + (V_up - V_snap), V_snap = V_up (staged as both columns)."""
    sets = [
        f"{v} = {table}.{v} + excluded.{v} - {table}.{v}_snap, {v}_snap = excluded.{v}_snap" for v in values
    ]
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(sets)


__all__ = ["PGC_VALUES", "PUSH_PGC_CONFLICT", "PUSH_STATS_CONFLICT", "STATS_VALUES", "pull_conflict"]
