"""What each dashboard page shows, as JSON-ready data: the same data the page's JSON endpoint returns and
its template renders (no web library here, so `egp report` and the tests use it directly)."""

from __future__ import annotations

from typing import Any

from egp.dashboard.figures import figures
from egp.dashboard.ids import parse_signature
from egp.dashboard.lineage import DEFAULT_DEPTH, lineage
from egp.dashboard.pool_view import overview
from egp.dashboard.program import program
from egp.dashboard.runs_view import run_or_job, runs_and_jobs
from egp.storage.sql_pool import SQLGenePool


def runs_page(pool: SQLGenePool) -> dict[str, Any]:
    """The runs and jobs list."""
    return {"runs": runs_and_jobs(pool.engine)}


def run_page(pool: SQLGenePool, run_id: str) -> dict[str, Any]:
    """One run or job: its figures, its history points and its best program (when it has one)."""
    detail = run_or_job(pool.engine, run_id)
    detail["figures"] = figures(detail["points"], islands_at_once=detail["kind"] == "job")
    best = detail.get("best_signature")
    detail["program"] = program(pool, bytes.fromhex(best)) if best else None
    return detail


def lineage_page(pool: SQLGenePool, signature: str, depth: int = DEFAULT_DEPTH) -> dict[str, Any]:
    """A GC's ancestors and sub-GC tree, its statistics and (for a program, not a codon) its source."""
    parsed = parse_signature(signature)
    found = lineage(pool, parsed, depth)
    found["program"] = None if found["ancestors"].get("codon") else program(pool, parsed)
    return found


def pool_page(pool: SQLGenePool, summed: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Gene Pool overview (with its aggregates as computed earlier, if given)."""
    return overview(pool, summed)
