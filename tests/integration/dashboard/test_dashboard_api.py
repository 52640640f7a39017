"""The dashboard's JSON endpoints and pages through an HTTP test client, on SQLite and Postgres Gene Pools
filled by real embedded runs; the run recorder's rows; bad ids answered 400 and 404, never a traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from starlette.testclient import TestClient

from egp.api import evolve, open_pool
from egp.dashboard.app import create_app
from egp.db import get_engine
from egp.engine.relations import describe_relations
from egp.jobs.spec import JobSpec
from egp.jobs.store import JobStatus, JobStore
from egp.migrations import upgrade
from egp.problems.registry import get_problem

from .conftest import FilledPool


@pytest.fixture(scope="module")
def client(filled_pool: FilledPool) -> Iterator[TestClient]:
    """A test client of the dashboard over the filled Gene Pool; server errors become 500 answers."""
    with TestClient(create_app(filled_pool.url), raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_run_is_recorded_with_its_history(filled_pool: FilledPool) -> None:
    """Each run has a finished runs row with its result, and one run_history row per island generation."""
    engine = get_engine(filled_pool.url)
    for result in filled_pool.runs:
        assert result.run_id is not None
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT status, best_fitness, evaluations, best_signature FROM runs WHERE id = :i"),
                {"i": result.run_id},
            ).one()
            history = connection.execute(
                text("SELECT island, generation, best, evaluations FROM run_history WHERE run = :i"),
                {"i": result.run_id},
            ).all()
        assert row.status == "finished"
        assert row.best_fitness == pytest.approx(result.best_fitness)
        assert row.evaluations == result.evaluations
        assert bytes(row.best_signature).hex() == result.best_signature
        recorded = sorted((h.island, h.generation, h.best, h.evaluations) for h in history)
        expected = sorted((r.island, r.generation, r.best, r.evaluations) for r in result.history)
        assert recorded == expected


def test_the_runs_list_holds_both_runs_newest_first(client: TestClient, filled_pool: FilledPool) -> None:
    answer = client.get("/api/runs")
    assert answer.status_code == 200
    runs = answer.json()["runs"]
    assert [r["id"] for r in runs] == [filled_pool.runs[1].run_id, filled_pool.runs[0].run_id]
    first = runs[1]
    assert first["problem"] == "koza-quartic" and first["status"] == "finished" and not first["live"]
    assert first["evaluations"] == filled_pool.runs[0].evaluations and first["evals_per_s"] > 0


def test_a_run_has_figures_per_island_and_its_best_program(
    client: TestClient, filled_pool: FilledPool
) -> None:
    """Fitness curves per island (best and mean), evaluations per second, stillborn rate and pGC layers,
    each with data points; the best program as source and formula."""
    result = filled_pool.runs[0]
    run = client.get(f"/api/runs/{result.run_id}").json()
    assert run["islands"] == 2 and {p["island"] for p in run["points"]} == {0, 1}
    figures = run["figures"]
    assert set(figures) == {"fitness", "rate", "stillborn", "pgc_share", "pgc_evolvability"}
    names = [trace["name"] for trace in figures["fitness"]["data"]]
    assert names == ["island 0 best", "island 0 mean", "island 1 best", "island 1 mean"]
    assert all(len(trace["x"]) == 12 for trace in figures["fitness"]["data"])
    # The islands of an embedded run take turns: one evaluation rate, the run's.
    assert [trace["name"] for trace in figures["rate"]["data"]] == ["run"]
    assert len(figures["pgc_share"]["data"]) == 4  # one trace per pGC layer (4 by default)
    # What a running page polls: the same without the points.
    light = client.get(f"/api/runs/{result.run_id}", params={"points": "0"}).json()
    assert "points" not in light and light["figures"] == figures
    program = run["program"]
    assert program["signature"] == result.best_signature
    assert program["source"] == result.best_source
    assert program["formula"] and program["formula"][0].startswith("f(i0) = ")


def test_run_and_lineage_pages_render(client: TestClient, filled_pool: FilledPool) -> None:
    result = filled_pool.runs[0]
    page = client.get(f"/runs/{result.run_id}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="plot-fitness"' in page.text and result.best_signature in page.text
    lineage = client.get(f"/gc/{result.best_signature}")
    assert lineage.status_code == 200 and "Ancestors" in lineage.text and "Sub-GC tree" in lineage.text
    for url in ("/", "/pool"):
        assert client.get(url).status_code == 200


def test_a_lineage_names_parents_pgcs_and_sub_gcs(client: TestClient, filled_pool: FilledPool) -> None:
    """The best GC's ancestors are stored GCs each made by a named pGC; its sub-GC tree reaches codons."""
    signature = filled_pool.runs[0].best_signature
    lineage = client.get(f"/api/gc/{signature}?depth=3").json()
    root = lineage["ancestors"]
    assert root["signature"] == signature and lineage["depth"] == 3
    assert root["parents"], "an evolved best GC has a parent"
    assert root["pgc"] is not None and root["pgc"]["name"]
    parent = root["parents"][0]
    assert client.get(f"/api/gc/{parent['signature']}").status_code == 200

    def leaves(node: dict[str, object]) -> list[dict[str, object]]:
        children = node.get("children") or []
        assert isinstance(children, list)
        return [node] if not children else [leaf for child in children for leaf in leaves(child)]

    deep = client.get(f"/api/gc/{signature}?depth=8").json()["subgcs"]
    assert any(leaf.get("codon") for leaf in leaves(deep))
    assert lineage["statistics"][0]["problem"] == "koza-quartic"


def test_the_gene_pool_overview(client: TestClient, filled_pool: FilledPool) -> None:
    pool = client.get("/api/pool").json()
    assert pool["counts"]["runs"] == 2 and pool["counts"]["genetic_codes"] > 0
    assert {p["name"] for p in pool["problems"]} == {"koza-quartic", "even-parity-3"}
    reused = pool["most_reused"]
    assert reused and reused[0]["uses"] >= reused[-1]["uses"] > 0
    assert pool["sync"] == [] and pool["quarantine"] == {"total": 0, "rows": []}


def test_the_gene_pool_shows_problem_relations_as_egp_problems_related_does(
    client: TestClient, filled_pool: FilledPool
) -> None:
    """The parity run, ending second, measured its relation with the quartic problem: the page's pair
    carries the same evidence `egp problems related` prints; each family's pGC layers are there too."""
    pool = client.get("/api/pool").json()
    (pair,) = pool["relations"]
    assert {pair["problem_a"], pair["problem_b"]} == {"koza-quartic", "even-parity-3"}
    quartic = get_problem("koza-quartic")
    opened = open_pool(filled_pool.url)
    try:
        (row,) = describe_relations(quartic, opened)
    finally:
        opened.close()
    assert row["problem"] == "even-parity-3" and pair["related"] == row["related"]
    assert pair["family_distance"] == row["family_distance"]
    assert pair["shared_sub_gcs"] == pytest.approx(row["shared_sub_gcs"])
    assert pair["shared_measurements"] == row["shared_measurements"] == 1
    families = {(f["family"], f["layer"]): f for f in pool["pgc_families"]}
    assert {family for family, _ in families} == {quartic.family, get_problem("even-parity-3").family}
    assert all(f["runs"] == 1 and 0.0 <= f["above_half"] <= 1.0 for f in families.values())
    page = client.get("/pool").text
    assert 'id="relations"' in page and 'id="pgc-families"' in page and "even-parity-3" in page


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/runs/0123456789abcdef0123456789abcdef", 404),
        ("/runs/not%20an%20id", 400),
        ("/gc/" + "ab" * 32, 404),
        ("/gc/xyz", 400),
        ("/gc/" + "ab" * 31, 400),
        ("/no/such/page", 404),
    ],
)
def test_bad_ids_are_a_page_and_a_json_answer_never_a_traceback(
    client: TestClient, url: str, status: int
) -> None:
    page = client.get(url)
    assert page.status_code == status
    assert "Traceback" not in page.text and "<!doctype html>" in page.text
    assert 'id="error-message"' in page.text
    api = client.get("/api" + url)
    assert api.status_code == (404 if url == "/no/such/page" else status)
    assert set(api.json()) == {"error", "status"} and "Traceback" not in api.text


def test_a_bad_depth_is_a_400(client: TestClient, filled_pool: FilledPool) -> None:
    signature = filled_pool.runs[0].best_signature
    for depth in ("0", "99", "x", "-1", "²", "٣", "", "1e1", "9" * 30):
        answer = client.get(f"/api/gc/{signature}?depth={depth}")
        assert answer.status_code == 400 and "depth" in answer.json()["error"]


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=70), st.text(max_size=6))
def test_any_id_or_depth_is_a_200_400_or_404_never_a_500(client: TestClient, key: str, depth: str) -> None:
    """Whatever text stands for a run id, a signature or a depth, the answer is one of these, with JSON."""
    for path in (f"/api/runs/{quote(key, safe='')}", f"/api/gc/{quote(key, safe='')}"):
        answer = client.get(path, params={"depth": depth})
        assert answer.status_code in (200, 400, 404), (path, depth, answer.text)
        assert "Traceback" not in answer.text


def test_a_failed_run_and_an_interrupted_run_are_recorded(filled_pool: FilledPool) -> None:
    """A run whose progress callback raises is 'failed' with the reason; Ctrl-C makes it 'cancelled'."""

    def broken(_record: object) -> None:
        raise RuntimeError("progress display broke")

    def interrupted(_record: object) -> None:
        raise KeyboardInterrupt

    # The Gene Pool seeds the run with the solutions found before: go on past them, so generations run.
    go_on = {"stop_when_solved": False}
    with pytest.raises(RuntimeError):
        evolve(
            "koza-quartic", population=20, generations=3, gene_pool=filled_pool.url, progress=broken, **go_on
        )
    with pytest.raises(KeyboardInterrupt):
        evolve(
            "koza-quartic",
            population=20,
            generations=3,
            gene_pool=filled_pool.url,
            progress=interrupted,
            **go_on,
        )
    with get_engine(filled_pool.url).connect() as connection:
        rows = connection.execute(
            text("SELECT status, reason FROM runs WHERE status <> 'finished' ORDER BY created")
        ).all()
        connection.execute(text("DELETE FROM runs WHERE status <> 'finished'"))
        connection.commit()
    assert [(r.status, r.reason) for r in rows] == [
        ("failed", "RuntimeError: progress display broke"),
        ("cancelled", "interrupted"),
    ]


def test_an_estimator_fit_is_recorded_and_shown(tmp_path: Path) -> None:
    """A scikit-learn fit on a SQL Gene Pool is a run like `egp evolve`'s: listed, with its figures."""
    from egp.sklearn import EGPRegressor

    url = f"sqlite:///{tmp_path / 'fit.db'}"
    upgrade(url)
    rows = np.linspace(-1.0, 1.0, 24).reshape(-1, 1)
    model = EGPRegressor(population=30, generations=4, random_state=1, gene_pool=url)
    x = rows[:, 0]
    # Not found in the initial population (x² + x was, leaving no generation to plot).
    model.fit(rows, x**3 + 0.7 * x**2 - x + 0.25 + 0.1 * np.sin(7 * x))
    with TestClient(create_app(url), raise_server_exceptions=False) as test_client:
        (listed,) = test_client.get("/api/runs").json()["runs"]
        assert listed["kind"] == "run" and listed["problem"] == model.problem_name_
        assert listed["status"] == "finished" and listed["evaluations"] == model.evaluations_
        assert listed["generations"] == 4
        run = test_client.get(f"/api/runs/{listed['id']}").json()
    assert {"fitness", "rate", "stillborn", "pgc_share", "pgc_evolvability"} <= set(run["figures"])
    assert run["program"] is not None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_runs_list_reads_a_jobs_figures_without_its_history(
    backend: str, tmp_path: Path, create_postgres_database: Callable[[], str]
) -> None:
    """The list takes a job's six listed progress fields from the database, each with its JSON type, and
    they equal what the job's own page reads from its whole progress."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}" if backend == "sqlite" else create_postgres_database()
    upgrade(url)
    store = JobStore(url)
    job_id = store.create(JobSpec(problem="koza-quartic", islands=2), get_problem("koza-quartic").identity)
    history = [
        {"island": i % 2, "epoch": i // 2, "generation": 10, "best": 0.5, "mean": 0.25} for i in range(50)
    ]
    progress = {
        "history": history,
        "best": 0.75,
        "best_signature": "ab" * 32,
        "solved": False,
        "evaluations": 12_345,
        "generation": 40,
        "reason": "generations",
    }
    with store.engine.begin() as connection:
        store.write(connection, job_id, JobStatus.FINISHED, progress)
    with TestClient(create_app(url), raise_server_exceptions=False) as test_client:
        (listed,) = test_client.get("/api/runs").json()["runs"]
        detail = test_client.get(f"/api/runs/{job_id}", params={"points": "0"}).json()
    assert listed["best_fitness"] == 0.75 and listed["best_signature"] == "ab" * 32
    assert listed["solved"] is False and listed["evaluations"] == 12_345 and listed["generations"] == 40
    assert listed["reason"] == "generations" and listed["status"] == "finished"
    for key in ("best_fitness", "best_signature", "solved", "evaluations", "generations", "reason", "status"):
        assert listed[key] == detail[key], key
