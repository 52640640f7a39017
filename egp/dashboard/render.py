"""How numbers, times and fitness values read on the dashboard's pages and in reports (Jinja2 filters)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment


def number(value: Any, digits: int = 0) -> str:
    """A count or rate with thousands separators ('–' for none)."""
    if value is None:
        return "–"
    return f"{float(value):,.{digits}f}"


def fitness(value: Any) -> str:
    """A fitness to six places ('–' for none)."""
    return "–" if value is None else f"{float(value):.6f}"


def figure(value: Any) -> str:
    """A measured figure to three significant digits ('–' for none; rounding noise such as 1e-17 as 0)."""
    if value is None:
        return "–"
    number = float(value)
    return "0" if abs(number) < 1e-9 else f"{number:.3g}"


def duration(seconds: Any) -> str:
    """A duration as '42 s', '7 min', '3 h' or '2 d'."""
    if seconds is None:
        return "–"
    value = float(seconds)
    for limit, unit, size in ((120, "s", 1), (7200, "min", 60), (172800, "h", 3600)):
        if value < limit:
            return f"{value / size:.0f} {unit}"
    return f"{value / 86400:.0f} d"


def when(text: Any) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS UTC'."""
    if not text:
        return "–"
    moment = datetime.fromisoformat(str(text)).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def install_filters(environment: Environment) -> None:
    """Add the filters to a Jinja2 environment."""
    environment.filters.update(number=number, fitness=fitness, figure=figure, duration=duration, when=when)
