"""The dashboard's figures of a job's history: its islands' pGC layer figures combined per epoch (weighted by
pool size, at the time the epoch's last island ended), and a stillborn line per island."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from egp.dashboard.figures import figures, pgc_figures
from egp.dashboard.runs_view import _job_points

LAYERS = 3


def layer(index: int, pgcs: int, above: float, evolvability: float) -> dict[str, Any]:
    """One pGC layer's figures as an epoch records them."""
    return {"layer": index, "pgcs": pgcs, "above_neutral": above, "evolvability": evolvability}


share = st.floats(0.0, 1.0)
island_epoch = st.tuples(
    st.integers(0, 3),  # island
    st.integers(0, 5),  # epoch
    st.floats(0.0, 99.0),  # seconds into the epoch's span (epoch e ends within [100e, 100e + 99])
    st.lists(st.tuples(st.integers(1, 40), share, st.floats(0.0, 2.0)), min_size=LAYERS, max_size=LAYERS),
)


def job_points(entries: list[tuple[int, int, float, list[tuple[int, float, float]]]]) -> list[dict[str, Any]]:
    """A job's history points (only the fields the pGC figures read)."""
    return [
        {
            "island": island,
            "epoch": epoch,
            "generation": epoch * 10,
            "seconds": 100 * epoch + seconds,
            "pgc": [list(figures) for figures in layers],  # [pGCs, share, evolvability] per layer
        }
        for island, epoch, seconds, layers in entries
    ]


@given(st.lists(island_epoch, min_size=1, max_size=30))
def test_a_jobs_pgc_figures_have_one_point_per_epoch_in_time_order(
    entries: list[tuple[int, int, float, list[tuple[int, float, float]]]],
) -> None:
    points = job_points(entries)
    share_figure, evolvability_figure = pgc_figures(points, islands_at_once=True)
    epochs = {epoch for _, epoch, _, _ in entries}
    assert [trace["name"] for trace in share_figure["data"]] == [f"layer {i}" for i in range(LAYERS)]
    for trace in share_figure["data"] + evolvability_figure["data"]:
        assert len(trace["x"]) == len(epochs)
        assert trace["x"] == sorted(trace["x"])
    for trace in share_figure["data"]:
        assert all(0.0 <= y <= 1.0 for y in trace["y"])
    # The combined share lies between its islands' shares.
    for index, trace in enumerate(share_figure["data"]):
        for epoch in epochs:
            own = [layers[index][1] for _, e, _, layers in entries if e == epoch]
            last = max(p["seconds"] for p in points if p["epoch"] == epoch)
            y = trace["y"][trace["x"].index(round(last, 3))]
            assert min(own) - 1e-6 <= y <= max(own) + 1e-6  # plotted to 6 places


def test_the_combined_share_is_weighted_by_pool_size() -> None:
    points = job_points(
        [
            (0, 0, 1.0, [(30, 0.0, 0.0)] * LAYERS),
            (1, 0, 2.0, [(10, 1.0, 1.0)] * LAYERS),
        ]
    )
    share_figure, evolvability_figure = pgc_figures(points, islands_at_once=True)
    assert share_figure["data"][0]["x"] == [2.0] and share_figure["data"][0]["y"] == [0.25]
    assert evolvability_figure["data"][0]["y"] == [0.25]


def test_a_runs_pgc_figures_keep_every_generation() -> None:
    """An embedded run's islands share their pGC pools: every island generation is a point."""
    points = [
        {"island": island, "seconds": seconds, "pgc_layers": [layer(i, 5, share, 0.1) for i in range(LAYERS)]}
        for island, seconds, share in ((0, 1.0, 0.2), (1, 2.0, 0.4))
    ]
    share_figure, _ = pgc_figures(points, islands_at_once=False)
    assert share_figure["data"][0]["x"] == [1.0, 2.0] and share_figure["data"][0]["y"] == [0.2, 0.4]


def test_a_history_without_pgc_or_stillborn_figures_has_only_fitness_and_rate() -> None:
    """A job recorded before its epochs carried these figures still has its fitness and rate plots."""
    points = [{"island": 0, "epoch": 0, "generation": 10, "best": 0.5, "mean": 0.2, "seconds": 1.0}]
    assert set(figures(points, islands_at_once=True)) == {"fitness", "rate"}


def test_a_jobs_history_entry_keeps_its_compact_layers() -> None:
    """A job stores [pGCs, share, evolvability] per layer (egp.jobs.epoch.epoch_figures); its points carry
    them as recorded, and an entry written before epochs carried figures has none."""
    begun = datetime(2026, 1, 1, tzinfo=UTC)
    history = [
        {"island": 0, "epoch": 0, "generation": 10, "evaluations": 100, "best": 0.5, "mean": 0.2},
        {
            "island": 0,
            "epoch": 1,
            "generation": 20,
            "evaluations": 200,
            "best": 0.6,
            "mean": 0.3,
            "updated": "2026-01-01T00:00:05+00:00",
            "stillborn_rate": 0.04,
            "pgc": [[20, 0.1, 0.002], [12, 0.0, 0.0]],
        },
    ]
    old, new = _job_points({"history": history}, begun)
    assert old["pgc"] is None and old["stillborn_rate"] is None
    assert new["stillborn_rate"] == 0.04 and new["seconds"] == 5.0
    assert new["pgc"] == [[20, 0.1, 0.002], [12, 0.0, 0.0]]
    share_figure, _ = pgc_figures([old, new], islands_at_once=True)
    assert [t["y"] for t in share_figure["data"]] == [[0.1], [0.0]]
