"""The Gene Pool dashboard and run reports: a read-only web application (Starlette, Jinja2, Plotly's bundled
JavaScript) over a Gene Pool, and the self-contained HTML report of one run or job.

The web stack is the `dashboard` extra; `require_dashboard_extra` turns its absence into one clear line.
The queries, figures and formulas (queries.py, runs_view.py, lineage.py, pool_view.py, figures.py,
formula.py) import no web library, so `egp report` and the tests use them directly.
"""

from __future__ import annotations

import importlib.util

from egp.errors import EGPError

# The distributions of the `dashboard` extra, by the module each provides.
EXTRA_MODULES = {"starlette": "starlette", "jinja2": "jinja2", "uvicorn": "uvicorn", "plotly": "plotly"}


def missing_dashboard_modules() -> list[str]:
    """The modules of the `dashboard` extra that are not installed."""
    return [name for name, module in EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]


def require_dashboard_extra() -> None:
    """Raise EGPError naming the install command if any module of the `dashboard` extra is missing."""
    missing = missing_dashboard_modules()
    if missing:
        raise EGPError(
            f"the dashboard needs {', '.join(missing)}: install the extra with pip install 'egp[dashboard]'"
        )
