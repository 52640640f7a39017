"""Plotly figures (plain JSON data, no Plotly import) of one run's or job's history: fitness per island,
evaluations per second, stillborn rate, and the pGC layers' effectiveness over time.

The same figures are drawn by the dashboard's pages (Plotly.js served from the installed package), embedded
in `egp report`'s HTML file, and written as PNG files by `egp report --png`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

# Plotly's default colour sequence, so island i has one colour in every figure.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
LAYER_DASH = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def _layout(title: str, x: str, y: str, **extra: Any) -> dict[str, Any]:
    """A compact layout with axis titles."""
    layout: dict[str, Any] = {
        # Left-aligned: Plotly's toolbar sits at the top right and covered centred titles.
        "title": {"text": title, "font": {"size": 15}, "x": 0.02, "xanchor": "left"},
        "xaxis": {"title": {"text": x}},
        "yaxis": {"title": {"text": y}},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
        "height": 340,
        # Below the x axis title, with room between them.
        "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
    }
    layout.update(extra)
    return layout


def _rounded(values: Iterable[Any], digits: int = 6) -> list[Any]:
    """Plotted values to `digits` places (None kept): a mean's 17 digits cost JSON text, not plot detail."""
    return [None if v is None else round(float(v), digits) for v in values]


def _by_island(points: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The points of each island, in order."""
    islands: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for point in points:
        islands[int(point["island"])].append(point)
    return dict(sorted(islands.items()))


def _line(name: str, xs: list[Any], ys: list[Any], colour: str, dash: str = "solid") -> dict[str, Any]:
    """One line-with-markers trace."""
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": xs,
        "y": ys,
        "line": {"color": colour, "dash": dash, "width": 2},
        "marker": {"size": 4},
    }


def fitness_figure(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Best and mean fitness per island against the generation."""
    data = []
    for island, series in _by_island(points).items():
        colour = COLOURS[island % len(COLOURS)]
        xs = [p["generation"] for p in series]
        data.append(_line(f"island {island} best", xs, _rounded(p["best"] for p in series), colour))
        data.append(_line(f"island {island} mean", xs, _rounded(p["mean"] for p in series), colour, "dot"))
    return {"data": data, "layout": _layout("Fitness per island", "generation", "fitness")}


def rate_figure(points: list[dict[str, Any]], per_island: bool = True) -> dict[str, Any]:
    """Evaluations per second against the run's time: one line per island (a job's islands evolve at the
    same time), or one for the whole run (an embedded run's islands take turns, so its rate is the run's)."""
    if not per_island:
        kept = sorted(
            (p for p in points if p.get("evals_per_s") is not None and p.get("seconds") is not None),
            key=lambda p: float(p["seconds"]),
        )
        xs = [round(float(p["seconds"]), 3) for p in kept]
        ys = [round(float(p["evals_per_s"]), 1) for p in kept]
        data = [_line("run", xs, ys, COLOURS[0])]
        return {"data": data, "layout": _layout("Evaluations per second", "seconds", "evaluations / s")}
    data = []
    for island, series in _by_island(points).items():
        kept = [p for p in series if p.get("evals_per_s") is not None and p.get("seconds") is not None]
        xs = [round(float(p["seconds"]), 3) for p in kept]
        ys = [round(float(p["evals_per_s"]), 1) for p in kept]
        data.append(_line(f"island {island}", xs, ys, COLOURS[island % len(COLOURS)]))
    return {"data": data, "layout": _layout("Evaluations per second", "seconds", "evaluations / s")}


def stillborn_figure(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The share of offspring that were stillborn, per island against the generation (None: not recorded)."""
    data = []
    for island, series in _by_island(points).items():
        kept = [p for p in series if p.get("stillborn_rate") is not None]
        if kept:
            xs = [p["generation"] for p in kept]
            ys = [p["stillborn_rate"] for p in kept]
            data.append(_line(f"island {island}", xs, ys, COLOURS[island % len(COLOURS)]))
    if not data:
        return None
    layout = _layout("Stillborn rate", "generation", "stillborn share of offspring")
    layout["yaxis"]["rangemode"] = "tozero"
    return {"data": data, "layout": layout}


def _pgc_series(
    points: list[dict[str, Any]], islands_at_once: bool
) -> dict[int, tuple[list[float], list[float], list[float]]]:
    """Per layer: times, shares above 0.5 and mean evolvabilities, in time order. An embedded run's islands
    share one engine and its pGC pools, so each island generation (its `pgc_layers`) is the run's pools at
    that time. A job's islands each evolve their own pools: an epoch's figures are its islands' `pgc`
    ([pGCs, share, evolvability] per layer) combined, weighted by pool size, at the time the epoch's last
    island ended. Plain lists throughout: a 2,000-epoch job's page spent ~60 ms here with a dict per layer."""
    # (seconds, [[pGCs, pGCs above 0.5, evolvability total] per layer]) per time point.
    timed: list[tuple[float, list[list[float]]]] = []
    if not islands_at_once:
        for point in points:
            layers, seconds = point.get("pgc_layers"), point.get("seconds")
            if layers and seconds is not None:
                timed.append(
                    (
                        float(seconds),
                        [[1.0, float(f["above_neutral"]), float(f["evolvability"])] for f in layers],
                    )
                )
    else:
        epochs: dict[Any, tuple[float, list[list[float]]]] = {}
        for point in points:
            compact, seconds = point.get("pgc"), point.get("seconds")
            if not compact or seconds is None:
                continue
            latest, sums = epochs.get(point.get("epoch"), (float(seconds), []))
            while len(sums) < len(compact):
                sums.append([0.0, 0.0, 0.0])
            for total, (size, above, evolvability) in zip(sums, compact, strict=False):
                total[0] += size
                total[1] += above * size
                total[2] += evolvability * size
            epochs[point.get("epoch")] = (max(latest, float(seconds)), sums)
        timed = sorted(epochs.values(), key=lambda item: item[0])
    traces: dict[int, tuple[list[float], list[float], list[float]]] = {}
    for seconds, sums in timed:
        for layer, (size, above, evolvability) in enumerate(sums):
            xs, shares, evolvabilities = traces.setdefault(layer, ([], [], []))
            xs.append(round(seconds, 3))
            shares.append(round(above / size, 6) if size else 0.0)
            evolvabilities.append(round(evolvability / size, 7) if size else 0.0)
    return traces


def pgc_figures(points: list[dict[str, Any]], islands_at_once: bool = False) -> list[dict[str, Any]]:
    """Per pGC layer against the run's time: the share of its pGCs above neutral fitness (0.5), and their
    mean evolvability (empty: not recorded); `islands_at_once`: a job's history (see _pgc_series)."""
    traces = _pgc_series(points, islands_at_once)
    if not traces:
        return []
    shares, evolvability = [], []
    for layer, (xs, share_ys, evolvability_ys) in sorted(traces.items()):
        colour = COLOURS[layer % len(COLOURS)]
        dash = LAYER_DASH[layer % len(LAYER_DASH)]
        shares.append(_line(f"layer {layer}", xs, share_ys, colour, dash))
        evolvability.append(_line(f"layer {layer}", xs, evolvability_ys, colour, dash))
    share_layout = _layout("pGCs above neutral fitness (0.5), per layer", "seconds", "share of the layer")
    # From 0 up to a little above the highest share: a fixed 0..1 axis flattens the small shares of a short
    # run (often all below 0.1) onto the axis line.
    highest = max((y for trace in shares for y in trace["y"]), default=0.0)
    share_layout["yaxis"]["range"] = [0, min(1.05, max(0.1, 1.15 * highest))]
    evolvability_layout = _layout("Mean pGC evolvability, per layer", "seconds", "evolvability")
    evolvability_layout["yaxis"]["rangemode"] = "tozero"
    return [{"data": shares, "layout": share_layout}, {"data": evolvability, "layout": evolvability_layout}]


def figures(points: list[dict[str, Any]], islands_at_once: bool = True) -> dict[str, dict[str, Any]]:
    """Every figure of a history, by name (those with no data recorded are left out); `islands_at_once`:
    the islands evolved side by side (a job), so each has its own evaluation rate."""
    found: dict[str, dict[str, Any]] = {
        "fitness": fitness_figure(points),
        "rate": rate_figure(points, islands_at_once),
    }
    stillborn = stillborn_figure(points)
    if stillborn is not None:
        found["stillborn"] = stillborn
    for name, figure in zip(
        ("pgc_share", "pgc_evolvability"), pgc_figures(points, islands_at_once), strict=False
    ):
        found[name] = figure
    return found
