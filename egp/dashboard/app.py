"""The dashboard's web application: a read-only Starlette app over one Gene Pool, its pages rendered with
Jinja2 from the installed package's templates, Plotly.js served from the installed `plotly` package (no CDN:
it works offline), and a JSON endpoint behind every page.

An unknown run id or signature is a 404 page (JSON under /api/), a malformed one a 400, an unreachable
database a 503, and anything else a 500 page with one line; never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from egp.config import display_url
from egp.dashboard import pages
from egp.dashboard.auth import BasicAuth
from egp.dashboard.cache import Refreshing
from egp.dashboard.ids import MalformedIdError, NotFoundError
from egp.dashboard.lineage import DEFAULT_DEPTH, MAX_DEPTH
from egp.dashboard.pool_view import aggregates
from egp.dashboard.render import install_filters
from egp.errors import one_line
from egp.storage.sql_pool import SQLGenePool

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# Seconds the Gene Pool page's aggregates are served before they are recomputed (in the background).
AGGREGATES_TTL_S = 30.0
DEPTH = re.compile(r"[0-9]{1,3}")


def plotly_js() -> Path:
    """The plotly.min.js bundled with the installed `plotly` package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def _depth(request: Request) -> int:
    """The `depth` query parameter (1 to MAX_DEPTH); MalformedIdError for anything else."""
    text = request.query_params.get("depth", str(DEFAULT_DEPTH))
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
    if not DEPTH.fullmatch(text) or not 1 <= int(text) <= MAX_DEPTH:
        raise MalformedIdError(f"depth must be a whole number from 1 to {MAX_DEPTH}, got {text[:20]!r}")
    return int(text)


def create_app(url: str, credentials: tuple[str, str] | None = None) -> Starlette:
    """The dashboard over the Gene Pool at `url` (its schema must be at head), asking every request for
    `credentials` (user, password) when given."""
    pool = SQLGenePool(url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    install_filters(templates.env)
    templates.env.globals["gene_pool"] = display_url(url)

    def page(template: str, build: Callable[[Request], dict[str, Any]]) -> Callable[[Request], Response]:
        """A page endpoint: `build`'s data rendered by `template`."""

        def endpoint(request: Request) -> Response:
            return templates.TemplateResponse(request, template, {"data": build(request)})

        return endpoint

    def api(build: Callable[[Request], dict[str, Any]]) -> Callable[[Request], Response]:
        """A JSON endpoint returning `build`'s data."""

        def endpoint(request: Request) -> Response:
            return JSONResponse(build(request))

        return endpoint

    def runs(_request: Request) -> dict[str, Any]:
        return pages.runs_page(pool)

    def run(request: Request) -> dict[str, Any]:
        data = pages.run_page(pool, request.path_params["run_id"])
        # ?points=0: without the history points (the figures hold what a page draws), for the polls of a
        # running job's page, whose points alone are ~0.6 MB at 2,000 epochs.
        if request.query_params.get("points") == "0":
            data.pop("points", None)
        return data

    def gc(request: Request) -> dict[str, Any]:
        return pages.lineage_page(pool, request.path_params["signature"], _depth(request))

    # The Gene Pool page's aggregates scan every stored GC: computed off the request path (see cache.py).
    summed = Refreshing(lambda: aggregates(pool), AGGREGATES_TTL_S)

    def gene_pool(_request: Request) -> dict[str, Any]:
        return pages.pool_page(pool, summed.get())

    def plotly(_request: Request) -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript")

    def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    def error(request: Request, status: int, message: str) -> Response:
        """The error as JSON under /api/, else as the error page."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        context = {"status": status, "message": message}
        return templates.TemplateResponse(request, "error.html", context, status_code=status)

    async def malformed(request: Request, exc: Exception) -> Response:
        return error(request, 400, str(exc))

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(request, 404, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = f"no page at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return error(request, exc.status_code, message)

    async def server_error(request: Request, exc: Exception) -> Response:
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            return error(request, 503, f"the Gene Pool database did not answer: {one_line(exc.orig or exc)}")
        log.exception("dashboard error on %s", request.url.path)
        return error(request, 500, f"internal error: {one_line(exc)}")

    routes = [
        Route("/", page("runs.html", runs)),
        Route("/runs/{run_id}", page("run.html", run)),
        Route("/gc/{signature}", page("lineage.html", gc)),
        Route("/pool", page("pool.html", gene_pool)),
        Route("/api/runs", api(runs)),
        Route("/api/runs/{run_id}", api(run)),
        Route("/api/gc/{signature}", api(gc)),
        Route("/api/pool", api(gene_pool)),
        Route("/healthz", health),
        Route("/static/plotly.min.js", plotly),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    handlers: dict[Any, Any] = {
        MalformedIdError: malformed,
        NotFoundError: not_found,
        HTTPException: http_error,
        Exception: server_error,
    }
    middleware = (
        [] if credentials is None else [Middleware(BasicAuth, user=credentials[0], password=credentials[1])]
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        """Start computing the Gene Pool page's aggregates as the server starts."""
        summed.refresh_soon()
        yield

    return Starlette(routes=routes, exception_handlers=handlers, middleware=middleware, lifespan=lifespan)
